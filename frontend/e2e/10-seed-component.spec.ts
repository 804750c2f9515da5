import { expect, expectAccessible, seedData, shot, signIn, test } from "./fixtures";

test("the specification's own component, unchanged, lists Finance Team's workflows on the session cookie", async ({
  page,
}) => {
  await signIn(page, "admin");
  const group = seedData().finance_group;
  const seedRequest = page.waitForRequest(
    (request) => new URL(request.url()).pathname === "/api/approvals/workflow-assignments/",
  );
  await page.goto(`/seed-example?group=${group}`);

  const request = await seedRequest;
  expect(new URL(request.url()).search).toBe(`?security_group=${group}`);
  const headers = await request.allHeaders();
  // The seed's fetch() sends no Authorization header: the session cookie signs it in.
  expect(headers).not.toHaveProperty("authorization");
  expect(headers.cookie ?? "").toMatch(/session/);
  const response = await request.response();
  expect(response?.status()).toBe(200);

  await expect(page.getByRole("heading", { level: 1, name: "The specification's example" })).toBeVisible();
  const heading = page.getByRole("heading", { name: "Assigned Workflows (Sequential Execution)" });
  await expect(heading).toBeVisible();
  const items = page.locator("section.panel ol > li");
  await expect(items).toHaveText(["FAR Approval Workflow", "Secondary Review Workflow"]);
  await expect(page.getByLabel("Security group")).toHaveValue(String(group));

  await expectAccessible(page, "seed example");
  await shot(page, "seed-example");
});
