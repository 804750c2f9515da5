// Roles across the console: a VIEWER is offered no write; signed-out visitors are sent to
// sign in; another tenant's object is "Not found"; a server 403 is shown in words.
import type { Page } from "@playwright/test";

import { apiAs, detailIds, expect, seedData, signIn, test, USERS } from "./fixtures";

// Words of a write control (a button or link), as the console names them.
const WRITE_VERB = /\b(New|Create|Add|Save|Delete|Approve|Reject|Cancel|Replace all|Move|Drag)\b/i;

/** The visible buttons and links of the page once it has loaded, and those that offer a write. */
async function writeControls(page: Page, path: string): Promise<string[]> {
  await page.goto(path);
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.getByText(/^Loading\b/)).toHaveCount(0);
  const controls = page.getByRole("button").or(page.getByRole("link"));
  const names: string[] = [];
  for (const control of await controls.all()) {
    if (!(await control.isVisible())) continue;
    const label = (await control.getAttribute("aria-label")) ?? (await control.innerText());
    names.push(label.replace(/\s+/g, " ").trim());
  }
  console.log(`${path}: checked ${names.length} controls: ${names.join(" | ")}`);
  return names.filter((name) => WRITE_VERB.test(name));
}

test.describe("a VIEWER", () => {
  let ids: Awaited<ReturnType<typeof detailIds>>;

  test.beforeAll(async ({ baseURL }) => {
    // Filed by an ADMIN (who may file for any group).
    ids = await detailIds(baseURL!, {
      transfer: { reference: "ROLES-40", amount: "75.00", description: "Filed for the roles spec" },
      workflowCode: "SURVIVOR_INTAKE",
    });
  });

  test("is offered no write control on any screen", async ({ page }) => {
    const seed = seedData();
    await signIn(page, "viewer");
    const paths = [
      "/inbox",
      "/transfers",
      `/transfers/${ids.transfer}`,
      "/cases",
      `/cases/${ids.demoCase}`,
      "/workflows",
      `/workflows/${ids.workflow}`,
      "/groups",
      `/groups/${seed.finance_group}`,
    ];
    const offered: Record<string, string[]> = {};
    for (const path of paths) {
      const writes = await writeControls(page, path);
      if (writes.length) offered[path] = writes;
    }
    expect(offered, "write controls offered to a VIEWER").toEqual({});
    // Nor does a VIEWER find the audit log in the menu.
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" })).toHaveCount(0);
  });
});

test.describe("a signed-out visitor", () => {
  test("is sent to sign in from a transfer and from the workflows", async ({ page }) => {
    for (const path of ["/transfers/1", "/workflows"]) {
      await page.goto(path);
      await expect(page).toHaveURL(new RegExp(`/sign-in\\?next=${encodeURIComponent(path)}$`));
      await expect(page.getByRole("heading", { name: "Sign in to Workflows" })).toBeVisible();
    }
  });
});

test.describe("another tenant's object", () => {
  test.use({ allowHttpErrors: [404] });

  test("is Not found for the demo admin", async ({ page }) => {
    await signIn(page, "admin");
    await page.goto(`/transfers/${seedData().other_transfer}`);
    await expect(page.getByText("Not found", { exact: true })).toBeVisible();
  });

  test("and a case that is not there is Not found too", async ({ page }) => {
    await signIn(page, "admin");
    await page.goto("/cases/999999");
    await expect(page.getByText("Not found", { exact: true })).toBeVisible();
  });
});

test.describe("a server 403", () => {
  test.use({ allowHttpErrors: [403] });

  // No mock: the agent's page still offers "Start workflow" when an ADMIN makes the agent a
  // VIEWER meanwhile; the server refuses and the page says why. The role is restored after.
  test("is shown in words where the write was sent", async ({ page, baseURL }) => {
    const seed = seedData();
    const admin = await apiAs("admin", baseURL!);
    const users = await admin.get(`/api/tenants/${seed.demo_tenant}/users/?page_size=200`);
    const agent = users.results.find((u: { email: string }) => u.email === USERS.agent);
    try {
      await signIn(page, "agent");
      const cases = await admin.get("/api/cases/?search=CASE-DEMO-1");
      await page.goto(`/cases/${cases.results[0].id}`);
      await page.getByLabel("Workflow", { exact: true }).selectOption({ label: "Survivor Intake" });
      await admin.patch(`/api/tenants/${seed.demo_tenant}/users/${agent.id}/`, { role: "VIEWER" });
      await page.getByRole("button", { name: "Start workflow" }).click();
      await expect(page.getByRole("alert")).toContainText("A VIEWER may only read cases.");
    } finally {
      await admin.patch(`/api/tenants/${seed.demo_tenant}/users/${agent.id}/`, { role: "AGENT" });
      await admin.dispose();
    }
  });
});
