import { expect, expectAccessible, shot, signIn, signOut, test } from "./fixtures";

test("a signed-out visitor is sent to sign-in, and comes back after signing in", async ({
  page,
}) => {
  const started = Date.now();
  await page.goto("/transfers?status=pending");
  await expect(page).toHaveURL(/\/sign-in\?next=/);
  const email = page.getByLabel("Email");
  await expect(email).toBeEditable();
  // Printed, not asserted: a timing depends on the machine (README "Console").
  console.log(`first screen interactive after ${Date.now() - started} ms`);
  await expectAccessible(page, "sign-in");
  await shot(page, "sign-in");
  await signIn(page, "admin", { here: true });
  await expect(page).toHaveURL(/\/transfers\?status=pending$/);
  await expect(page.getByLabel("Signed in as")).toContainText("Demo Helpline");
  await expect(page.getByLabel("Signed in as")).toContainText("ADMIN");
  await signOut(page);
  await page.goto("/inbox");
  await expect(page).toHaveURL(/\/sign-in/);
});

test.describe("wrong credentials", () => {
  test.use({ allowHttpErrors: [401] });

  test("a wrong password is refused in words", async ({ page }) => {
  await page.goto("/sign-in");
  await page.getByLabel("Email").fill("admin@demo.example");
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("No active account");
  });
});
