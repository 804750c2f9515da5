// Every screen, for the role that sees the most of it (ADMIN), at a desk (1280x800) and on a
// phone (390x844): it loads in words, axe-core finds no WCAG 2.1 A/AA violation, nothing is
// wider than the screen, and the browser console stays clean (the fixture's check).
import type { Page } from "@playwright/test";

import { detailIds, expect, expectAccessible, seedData, shot, signIn, test } from "./fixtures";

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
    const ids = await detailIds(baseURL!, {
      transfer: { reference: `SCREENS-${Date.now().toString(36)}`, amount: "320.00", description: "Filed to look at every screen" },
      workflowCode: "FAR_WF_V1",
    });
    paths.push(
      "/inbox",
      "/transfers",
      "/transfers/new",
      `/transfers/${ids.transfer}`,
      "/cases",
      `/cases/${ids.demoCase}`,
      "/workflows",
      "/workflows/new",
      `/workflows/${ids.workflow}`,
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
