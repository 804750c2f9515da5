// Every screen, for the role that sees the most of it (ADMIN), at a desk (1280x800) and on a
// phone (390x844): it loads in words, axe-core finds no WCAG 2.1 A/AA violation, nothing is
// wider than the screen, and the browser console stays clean (the fixture's check).
import type { Page } from "@playwright/test";

import { apiAs, expect, expectAccessible, seedData, shot, signIn, test } from "./fixtures";

const VIEWPORTS = [
  { name: "desk", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
] as const;

async function settled(page: Page): Promise<void> {
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.getByText(/^Loading\b/)).toHaveCount(0);
}

async function noSidewaysScroll(page: Page, path: string): Promise<void> {
  const [scroll, client] = await page.evaluate(() => [
    document.documentElement.scrollWidth,
    document.documentElement.clientWidth,
  ]);
  expect(scroll, `${path} is wider than the screen`).toBeLessThanOrEqual(client);
}

test.describe("every screen", () => {
  const paths: string[] = [];

  test.beforeAll(async ({ baseURL }) => {
    const seed = seedData();
    const admin = await apiAs("admin", baseURL!);
    const filed = await admin.post("/api/approvals/transfers/", {
      security_group: seed.finance_group,
      transfer_type: "FAR",
      reference: `SCREENS-${Date.now().toString(36)}`,
      amount: "320.00",
      currency: "EUR",
      description: "Filed to look at every screen",
    });
    const workflows = await admin.get(`/api/tenants/${seed.demo_tenant}/workflows/?code=FAR_WF_V1`);
    const cases = await admin.get("/api/cases/?search=CASE-DEMO-1");
    await admin.dispose();
    paths.push(
      "/inbox",
      "/transfers",
      "/transfers/new",
      `/transfers/${filed.transfer.id}`,
      "/cases",
      `/cases/${cases.results[0].id}`,
      "/workflows",
      "/workflows/new",
      `/workflows/${workflows.results[0].id}`,
      "/groups",
      `/groups/${seed.finance_group}`,
      "/users",
      "/audit",
      `/seed-example?group=${seed.finance_group}`,
      "/no-such-page",
    );
  });

  for (const viewport of VIEWPORTS) {
    test(`at ${viewport.width}x${viewport.height}`, async ({ page }) => {
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      await signIn(page, "admin");
      for (const path of paths) {
        await page.goto(path);
        await settled(page);
        await expectAccessible(page, `${path} (${viewport.name})`);
        await noSidewaysScroll(page, path);
      }
      await page.goto("/inbox");
      await settled(page);
      await shot(page, `inbox-${viewport.name}`);
      console.log(`checked ${paths.length} screens at ${viewport.width}x${viewport.height}`);
    });
  }
});
