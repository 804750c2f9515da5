import type { Locator, Page } from "@playwright/test";

import { apiAs, expect, expectAccessible, seedData, shot, signIn, test } from "./fixtures";

const FINAL = "Final Sign-off Workflow";
const FAR = "FAR Approval Workflow";
const REVIEW = "Secondary Review Workflow";

function chain(page: Page): Locator {
  return page
    .getByRole("list", { name: "Workflows of Finance Team, in execution order" })
    .locator(".assignment-name");
}

function reordered(page: Page) {
  return page.waitForResponse(
    (r) => r.url().endsWith("/api/approvals/workflow-assignments/reorder/") && r.request().method() === "PUT",
  );
}

test("an admin builds Finance Team's chain: adds a workflow, reorders by drag and by keyboard, and the order persists", async ({
  page,
  baseURL,
}) => {
  const admin = await apiAs("admin", baseURL!);
  const me = (await admin.get("/api/auth/me/")) as { tenant: number };
  const code = `E2E_FINAL_${Date.now()}`;
  await admin.post(`/api/tenants/${me.tenant}/workflows/`, { name: FINAL, code, transfer_type: "FAR" });

  await signIn(page, "admin");
  await page.goto("/groups");
  await expect(page.getByRole("heading", { level: 1, name: "Security groups" })).toBeVisible();
  await expect(page.getByRole("link", { name: "Finance Team" })).toBeVisible();
  await expectAccessible(page, "security groups list");
  await shot(page, "groups-list");

  await page.getByRole("link", { name: "Finance Team" }).click();
  await expect(page).toHaveURL(new RegExp(`/groups/${seedData().finance_group}$`));
  await expect(page.getByRole("heading", { level: 1, name: "Finance Team" })).toBeVisible();
  await expect(chain(page)).toHaveText([FAR, REVIEW]);

  // Add the third workflow through the page.
  await page.getByLabel("Workflow", { exact: true }).selectOption({ label: `${FINAL} (${code})` });
  await page.getByRole("button", { name: "Add at the end" }).click();
  await expect(chain(page)).toHaveText([FAR, REVIEW, FINAL]);

  // Drag the third to the top by its handle, in small steps (the sensor waits for > 4 px).
  const handle = page.getByRole("button", { name: new RegExp(`^Drag ${FINAL}`) });
  const top = page.getByTestId("sortable-item").first();
  const from = (await handle.boundingBox())!;
  const to = (await top.boundingBox())!;
  const x = from.x + from.width / 2;
  const saved = reordered(page);
  await page.mouse.move(x, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(x, from.y + from.height / 2 - 10, { steps: 5 });
  await page.mouse.move(x, to.y + 5, { steps: 20 });
  await page.mouse.up();
  expect((await saved).ok()).toBeTruthy();
  await expect(chain(page)).toHaveText([FINAL, FAR, REVIEW]);

  // And by keyboard: FAR Approval one place down.
  const farHandle = page.getByRole("button", { name: new RegExp(`^Drag ${FAR}`) });
  await farHandle.focus();
  const savedAgain = reordered(page);
  await page.keyboard.press("Space");
  await expect(farHandle).toHaveAttribute("aria-pressed", "true");
  // dnd-kit measures the rows just after the pick-up; an arrow pressed before that is ignored,
  // so press again until its screen-reader announcement says where the row is.
  await expect(async () => {
    await page.keyboard.press("ArrowDown");
    await expect(page.getByText(`${FAR} is over position 3 of 3.`)).toBeAttached({ timeout: 1000 });
  }).toPass();
  await page.keyboard.press("Space");
  expect((await savedAgain).ok()).toBeTruthy();
  await expect(chain(page)).toHaveText([FINAL, REVIEW, FAR]);

  await page.reload();
  await expect(chain(page)).toHaveText([FINAL, REVIEW, FAR]);
  const stored = (await admin.get(
    `/api/approvals/workflow-assignments/?security_group=${seedData().finance_group}`,
  )) as { assignments: { workflow_template_name: string; execution_order: number }[] };
  expect(stored.assignments.map((a) => [a.execution_order, a.workflow_template_name])).toEqual([
    [1, FINAL],
    [2, REVIEW],
    [3, FAR],
  ]);
  await admin.dispose();

  await expectAccessible(page, "group detail with the assignment manager");
  await shot(page, "assignment-manager");

  // Usable on a phone: nothing wider than the screen but the tables' own scroll areas.
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(chain(page)).toHaveText([FINAL, REVIEW, FAR]);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await shot(page, "assignment-manager-390");
  await page.setViewportSize({ width: 1280, height: 800 });

  // Replace all asks first, in words that say what it does; Cancel changes nothing.
  const opener = page.getByRole("button", { name: "Replace all…" });
  await opener.click();
  const dialog = page.getByRole("dialog", { name: "Replace all assignments of Finance Team" });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText("This replaces every assignment of Finance Team");
  await expect(dialog).toContainText("all 3 current assignments will be deleted");
  await expect(dialog.getByRole("checkbox", { name: `${FINAL} (${code})` })).toBeFocused();
  await expectAccessible(page, "replace-all confirmation");
  await shot(page, "replace-all-confirmation");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(opener).toBeFocused();
  await expect(chain(page)).toHaveText([FINAL, REVIEW, FAR]);
});

test("a viewer sees Finance Team's chain and members but no write controls", async ({ page }) => {
  await signIn(page, "viewer");
  await page.goto(`/groups/${seedData().finance_group}`);
  await expect(page.getByRole("heading", { level: 1, name: "Finance Team" })).toBeVisible();
  await expect(
    page.getByRole("list", { name: "Workflows of Finance Team, in execution order" }).getByRole("listitem"),
  ).not.toHaveCount(0);
  await expect(page.getByRole("heading", { name: "Members" })).toBeVisible();
  await expect(page.getByRole("button", { name: /Replace all|Drag|Remove|Delete|Save|Add/ })).toHaveCount(0);
  await expect(page.getByRole("textbox")).toHaveCount(0);
});

test("the users screen: an admin creates a user, changes their role, and deactivates them", async ({ page }) => {
  await signIn(page, "admin");
  await page.goto("/users");
  await expect(page.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
  const email = `erin-${Date.now()}@demo.example`;
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Full name").fill("Erin Example");
  await page.getByLabel("Role", { exact: true }).selectOption("VIEWER");
  await page.getByLabel("Password").fill("Another-Pass-2026!");
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Created ${email}` })).toBeVisible();

  const row = page.getByRole("row").filter({ hasText: email });
  await expect(row).toContainText("Active");
  await row.getByLabel("Role of Erin Example", { exact: true }).selectOption("SUPERVISOR");
  const patched = page.waitForResponse((r) => r.request().method() === "PATCH" && r.url().includes("/users/"));
  await row.getByRole("button", { name: "Change role of Erin Example" }).click();
  expect((await patched).ok()).toBeTruthy();
  await expect(row.getByRole("button", { name: "Change role of Erin Example" })).toBeDisabled();

  await row.getByRole("button", { name: "Deactivate Erin Example" }).click();
  await expect(row).toContainText("Deactivated");
  await expect(row.getByRole("button", { name: "Reactivate Erin Example" })).toBeVisible();

  await page.reload();
  const again = page.getByRole("row").filter({ hasText: email });
  await expect(again.getByLabel("Role of Erin Example", { exact: true })).toHaveValue("SUPERVISOR");
  await expect(again).toContainText("Deactivated");
  await expectAccessible(page, "users");
  await shot(page, "users");
});
