// A transfer through a chain of three approval workflows: created on the page by the agent,
// approved in the first workflow and rejected in the second from the inbox; the timeline shows
// who decided what, and that the third workflow never started.
import type { Page } from "@playwright/test";

import { apiAs, expect, expectAccessible, seedData, shot, signIn, signOut, test } from "./fixtures";

const stamp = Date.now().toString(36).toUpperCase();
const CHAIN_REF = `E2E-CHAIN-${stamp}`;
const LIST_REF = `E2E-LIST-${stamp}`;
const THIRD_CODE = `FAR_WF_FINAL_${stamp}`;
const REJECTION = "Amount does not match the invoice";

type Admin = Awaited<ReturnType<typeof apiAs>>;

async function workflowId(admin: Admin, tenant: number, code: string): Promise<number> {
  const page = (await admin.get(`/api/tenants/${tenant}/workflows/?code=${code}`)) as {
    results: { id: number; code: string }[];
  };
  const found = page.results.find((w) => w.code === code);
  expect(found, `workflow ${code}`).toBeTruthy();
  return found!.id;
}

function chainItem(page: Page, index: number) {
  return page.getByRole("list", { name: "Approval chain" }).locator(":scope > li").nth(index);
}

function inboxCard(page: Page, reference: string) {
  return page.getByRole("listitem", { name: `Transfer ${reference}` });
}

test.describe.serial("a transfer's approval chain", () => {
  let finance = 0;
  let tenant = 0;
  let firstTwo: number[] = [];
  let transferPath = "";

  test.beforeAll(async ({ baseURL }) => {
    const data = seedData();
    finance = Number(data.finance_group);
    tenant = Number(data.demo_tenant);
    const admin = await apiAs("admin", baseURL!);
    const third = (await admin.post(`/api/tenants/${tenant}/workflows/`, {
      name: "Final Sign-off",
      code: THIRD_CODE,
      transfer_type: "FAR",
    })) as { id: number };
    await admin.post(`/api/workflows/${third.id}/steps/`, {
      name: "Final approval",
      order: 0,
      action: "approval",
      config: { approvers: { security_group: finance } },
    });
    firstTwo = [await workflowId(admin, tenant, "FAR_WF_V1"), await workflowId(admin, tenant, "FAR_WF_REVIEW")];
    await admin.post("/api/approvals/workflow-assignments/bulk-assign/", {
      security_group_id: finance,
      workflow_assignments: [...firstTwo, third.id].map((id, index) => ({
        workflow_template_id: id,
        execution_order: index + 1,
      })),
    });
    await admin.dispose();
  });

  test.afterAll(async ({ baseURL }) => {
    // Leave Finance Team as the seed made it, for the specs after this one.
    const admin = await apiAs("admin", baseURL!);
    await admin.post("/api/approvals/workflow-assignments/bulk-assign/", {
      security_group_id: finance,
      workflow_assignments: firstTwo.map((id, index) => ({ workflow_template_id: id, execution_order: index + 1 })),
    });
    await admin.dispose();
  });

  test("created on the page, approved then rejected from the inbox, shown on the timeline", async ({ page }) => {
    await signIn(page, "agent");
    await page.getByRole("link", { name: "Transfers", exact: true }).click();
    await page.getByRole("link", { name: "New transfer" }).click();
    await expect(page.getByRole("heading", { level: 1, name: "New transfer" })).toBeVisible();
    await page.getByLabel("Security group").selectOption({ label: "Finance Team" });
    await expect(page.getByText("Types with workflows: FAR.")).toBeVisible();
    await expectAccessible(page, "transfer-new");
    await shot(page, "transfer-new");
    await page.getByLabel("Transfer type").fill("FAR");
    await page.getByLabel("Reference").fill(CHAIN_REF);
    await page.getByLabel("Amount").fill("1250.00");
    await page.getByLabel("Currency").fill("EUR");
    await page.getByLabel("Description (optional)").fill("Office rent, March");
    await page.getByRole("button", { name: "Create transfer" }).click();

    await expect(page).toHaveURL(/\/transfers\/\d+$/);
    transferPath = new URL(page.url()).pathname;
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Transfer ${CHAIN_REF} Pending`);
    await expect(chainItem(page, 0)).toContainText("FAR Approval Workflow");
    await expect(chainItem(page, 0)).toContainText("Running at step Approve transfer");
    await expect(chainItem(page, 1)).toContainText("Not started yet");
    await expect(chainItem(page, 2)).toContainText("Final Sign-off");
    await signOut(page);

    // approver1 approves the first workflow in their inbox.
    await signIn(page, "approver1");
    await expect(page).toHaveURL(/\/inbox$/);
    const first = inboxCard(page, CHAIN_REF);
    await expect(first).toContainText("FAR Approval Workflow");
    await expect(first).toContainText("1250.00 EUR");
    await expectAccessible(page, "inbox");
    await shot(page, "inbox");
    await first.getByLabel("Comment (required to reject)").fill("Invoice checked");
    await first.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByText(`You approved “Approve transfer” on Transfer ${CHAIN_REF}.`)).toBeVisible();
    // The second workflow started at once, but not for approver1: its step excludes whoever
    // decided an earlier step of the chain (separation of duties).
    await expect(inboxCard(page, CHAIN_REF)).toHaveCount(0);

    await page.goto(transferPath);
    await expect(chainItem(page, 0)).toContainText("Approved");
    await expect(chainItem(page, 0)).toContainText("Approved by April Approver");
    await expect(chainItem(page, 0)).toContainText("“Invoice checked”");
    await expect(chainItem(page, 1)).toContainText("Secondary Review Workflow");
    await expect(chainItem(page, 1)).toContainText("Running at step Approve transfer");
    await expect(chainItem(page, 2)).toContainText("Not started yet");
    await signOut(page);

    // approver2 rejects in the second workflow, with a comment.
    await signIn(page, "approver2");
    const second = inboxCard(page, CHAIN_REF);
    await expect(second).toContainText("Secondary Review Workflow");
    await second.getByRole("button", { name: "Reject" }).click();
    await expect(second.getByText("Write a comment: a rejection needs a reason.")).toBeVisible();
    await second.getByLabel("Comment (required to reject)").fill(REJECTION);
    await second.getByRole("button", { name: "Reject" }).click();
    await expect(page.getByText(`You rejected “Approve transfer” on Transfer ${CHAIN_REF}.`)).toBeVisible();
    await expect(inboxCard(page, CHAIN_REF)).toHaveCount(0);

    await page.goto(transferPath);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(`Transfer ${CHAIN_REF} Rejected`);
    await expect(chainItem(page, 0)).toContainText("Approved by April Approver");
    await expect(chainItem(page, 1)).toContainText("Rejected");
    await expect(chainItem(page, 1)).toContainText("Rejected by Abe Approver");
    await expect(chainItem(page, 1)).toContainText(`“${REJECTION}”`);
    await expect(chainItem(page, 2)).toContainText("Final Sign-off");
    await expect(chainItem(page, 2)).toContainText("Never started");
    await expect(page.getByRole("button", { name: "Approve" })).toHaveCount(0);
    await expectAccessible(page, "transfer-timeline");
    await shot(page, "transfer-timeline");

    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, "no sideways scrolling at 390 px").toBeLessThanOrEqual(0);
    await expectAccessible(page, "transfer-timeline-mobile");
    await shot(page, "transfer-timeline-mobile");
  });

  test("the agent finds a transfer in the list by a filter in the URL", async ({ page, baseURL }) => {
    const agent = await apiAs("agent", baseURL!);
    await agent.post("/api/approvals/transfers/", {
      security_group: finance,
      transfer_type: "FAR",
      reference: LIST_REF,
      amount: "99.50",
      currency: "USD",
    });
    await agent.dispose();

    await signIn(page, "agent");
    await page.goto("/transfers?status=pending&transfer_type=FAR");
    const table = page.getByRole("table");
    await expect(table.getByRole("link", { name: LIST_REF })).toBeVisible();
    await expect(table.getByRole("link", { name: CHAIN_REF })).toHaveCount(0);
    await expect(page.getByLabel("Status")).toHaveValue("pending");
    await expect(page.getByLabel("Transfer type")).toHaveValue("FAR");
    await expect(table.getByRole("row", { name: new RegExp(LIST_REF) })).toContainText("Workflow 1 of 3");
    await expectAccessible(page, "transfers");
    await shot(page, "transfers");

    await page.getByLabel("Status").selectOption("rejected");
    await expect(page).toHaveURL(/[?&]status=rejected/);
    await expect(table.getByRole("link", { name: CHAIN_REF })).toBeVisible();
    await expect(table.getByRole("link", { name: LIST_REF })).toHaveCount(0);
    await expect(table.getByRole("row", { name: new RegExp(CHAIN_REF) })).toContainText("Rejected in workflow 2 of 3");

    // The box follows the URL, which the router updates in a transition: click, then wait.
    await page.getByLabel("Created by me").click();
    await expect(page).toHaveURL(/[?&]mine=true/);
    await expect(page.getByLabel("Created by me")).toBeChecked();
    await expect(table.getByRole("link", { name: CHAIN_REF })).toBeVisible();
  });
});

test("a VIEWER is offered no way to create or decide", async ({ page }) => {
  await signIn(page, "viewer");
  await page.goto("/transfers");
  await expect(page.getByRole("heading", { level: 1, name: "Transfers" })).toBeVisible();
  await expect(page.getByRole("link", { name: "New transfer" })).toHaveCount(0);
  await page.goto("/inbox");
  await expect(page.getByText(/may read these tasks but not decide them/)).toBeVisible();
  await expect(page.getByRole("button", { name: "Approve" })).toHaveCount(0);
});

test.describe("another tenant's transfer", () => {
  test.use({ allowHttpErrors: [404] });

  test("shows Not found", async ({ page }) => {
    await signIn(page, "admin");
    await page.goto(`/transfers/${seedData().other_transfer}`);
    await expect(page.getByRole("alert")).toContainText("Not found");
  });
});
