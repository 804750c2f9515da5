import type { Locator, Page } from "@playwright/test";

import { expect, expectAccessible, shot, signIn, test } from "./fixtures";

const NAME = "E2E Two-step approval";

function stepList(page: Page): Locator {
  return page.getByRole("list", { name: `Steps of ${NAME}, in the order they run` });
}

async function expectOrder(page: Page, names: string[]): Promise<void> {
  await expect(stepList(page).getByTestId("step-row").locator(".step-title")).toHaveText(
    names.map((n, i) => new RegExp(`^${i + 1}\\. ${n}`)),
  );
}

/** A pointer drag of step `name` onto position `to` (1-based), by its handle. dnd-kit's
 * PointerSensor starts after 4 px of movement; the test moves on once the item is lifted and
 * once dnd-kit announces (to screen readers) that it is over the target position. */
async function drag(page: Page, name: string, to: number, count: number): Promise<void> {
  const handle = page.getByRole("button", { name: new RegExp(`^Drag ${name} `) });
  const target = stepList(page).getByTestId("sortable-item").nth(to - 1);
  await stepList(page).scrollIntoViewIfNeeded();
  const from = (await handle.boundingBox())!;
  const x = from.x + from.width / 2;
  const y = from.y + from.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x, y + (to === 1 ? -8 : 8), { steps: 4 });
  await expect(stepList(page).locator(".sortable-item.dragging")).toHaveCount(1);
  const box = (await target.boundingBox())!;
  await page.mouse.move(x, box.y + box.height / 2, { steps: 12 });
  await expect(
    page.getByRole("status").filter({ hasText: `${name} is over position ${to} of ${count}.` }),
  ).toHaveCount(1);
  await page.mouse.up();
}

test.describe("workflow designer", () => {
  // The webhook step without a URL is refused by the server on purpose (400).
  test.use({ allowHttpErrors: [400] });

  test("an admin builds a two-step approval and reorders it by mouse and by keyboard", async ({ page }) => {
    await signIn(page, "admin");
    await page.goto("/workflows");
    await expect(page.getByRole("heading", { level: 1, name: "Workflows" })).toBeVisible();
    await expect(page.getByRole("table", { name: "Workflows" })).toContainText("FAR_WF_V1");
    await expectAccessible(page, "workflows");
    await shot(page, "workflows");

    await page.getByRole("link", { name: "New workflow" }).click();
    await expect(page).toHaveURL(/\/workflows\/new$/);
    await page.getByLabel("Name", { exact: true }).fill(NAME);
    await page.getByLabel("Code").fill("E2E_TWO_STEP");
    await page.getByLabel("Transfer type").fill("FAR");
    await page.getByRole("button", { name: "Create workflow" }).click();
    await expect(page.getByRole("heading", { level: 1, name: NAME })).toBeVisible();
    await expect(page).toHaveURL(/\/workflows\/\d+$/);
    await expect(page.getByText("Workflow created. Add its steps below.")).toBeVisible();

    const add = page.getByRole("form", { name: "Add a step" });
    // 1: Finance Team, everyone must approve.
    await add.getByLabel("Step name").fill("Finance sign-off");
    await add.getByLabel("Action").selectOption("approval");
    await add.getByLabel("A security group").check();
    await add.getByLabel("Security group", { exact: true }).selectOption({ label: "Finance Team" });
    await add.getByLabel("Rule").selectOption("all");
    await add.getByRole("button", { name: "Add step" }).click();
    await expect(page.getByRole("status").filter({ hasText: "added" })).toHaveText(
      "Step “Finance sign-off” added.",
    );
    // 2: every SUPERVISOR.
    await add.getByLabel("Step name").fill("Supervisor check");
    await add.getByLabel("Everyone with a role").check();
    await add.getByLabel("Role", { exact: true }).selectOption("SUPERVISOR");
    await add.getByRole("button", { name: "Add step" }).click();
    await expect(page.getByRole("status").filter({ hasText: "added" })).toHaveText(
      "Step “Supervisor check” added.",
    );
    await expectOrder(page, ["Finance sign-off", "Supervisor check"]);
    await expect(stepList(page)).toContainText("Approvers: security group Finance Team; rule: all");
    await expect(stepList(page)).toContainText("Approvers: role SUPERVISOR; rule: any");

    // Mouse: drag "Supervisor check" above "Finance sign-off".
    await drag(page, "Supervisor check", 1, 2);
    await expect(page.getByRole("status").filter({ hasText: "Order" })).toHaveText("Order saved.");
    await expectOrder(page, ["Supervisor check", "Finance sign-off"]);
    await page.reload();
    await expectOrder(page, ["Supervisor check", "Finance sign-off"]);
    await expect(page.getByText("Workflow created.")).toHaveCount(0);

    // Keyboard: pick "Supervisor check" up with Space, one down, drop with Space.
    const handle = page.getByRole("button", { name: /^Drag Supervisor check/ });
    await handle.focus();
    await page.keyboard.press("Space");
    // dnd-kit measures the list once the drag starts: arrows work after the item is lifted.
    await expect(stepList(page).locator(".sortable-item.dragging")).toHaveCount(1);
    await page.keyboard.press("ArrowDown");
    await expect(
      page.getByRole("status").filter({ hasText: "Supervisor check is over position 2 of 2." }),
    ).toHaveCount(1);
    await page.keyboard.press("Space");
    await expect(page.getByRole("status").filter({ hasText: "Order" })).toHaveText("Order saved.");
    await expectOrder(page, ["Finance sign-off", "Supervisor check"]);
    await page.reload();
    await expectOrder(page, ["Finance sign-off", "Supervisor check"]);
    await expectAccessible(page, "workflow designer");
    await shot(page, "workflow-designer");

    // A webhook step without a URL: the server's message, next to the URL field.
    await add.getByLabel("Step name").fill("Notify accounting");
    await add.getByLabel("Action").selectOption("webhook");
    await add.getByRole("button", { name: "Add step" }).click();
    const url = add.getByLabel("URL");
    await expect(url).toHaveAccessibleDescription(/This field is required\./);
    await expect(url).toHaveAttribute("aria-invalid", "true");
    // In the URL field's own block, right under the input.
    await expect(add.locator(".config-field").filter({ has: page.locator('input[type="url"]') })).toContainText(
      "This field is required.",
    );
    await expectOrder(page, ["Finance sign-off", "Supervisor check"]);
    await expectAccessible(page, "workflow designer with a field error");
  });
});

test("a viewer finds a workflow by filters in the URL and sees it read-only", async ({ page }) => {
  await signIn(page, "viewer");
  await page.goto("/workflows");
  await expect(page.getByRole("link", { name: "New workflow" })).toHaveCount(0);
  await page.getByLabel("Code").fill("FAR_WF_V1");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/[?&]code=FAR_WF_V1/);
  const rows = page.getByRole("table", { name: "Workflows" }).locator("tbody tr");
  await expect(rows).toHaveCount(1);
  await rows.getByRole("link").click();
  await expect(page.getByRole("heading", { level: 2, name: "Steps" })).toBeVisible();
  await expect(page.getByTestId("step-row").first()).toBeVisible();
  // No write controls at all: no forms, no handles, no Move, Edit or Delete buttons.
  await expect(page.locator("main").getByRole("button")).toHaveCount(0);
  await expect(page.locator("main").getByRole("textbox")).toHaveCount(0);
  await page.setViewportSize({ width: 390, height: 844 });
  await expectAccessible(page, "workflow read-only");
  await shot(page, "workflow-read-only-mobile");
});
