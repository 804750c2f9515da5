
import { configure, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { Schemas } from "../../api/client";
import { me, pageOf } from "../../test/data";
import { jsonResponse, mockApi, renderSignedIn } from "../../test/render";
import { InboxPage } from "./InboxPage";

type Task = Schemas["Task"];
type Me = Schemas["Me"];

const approver = (role: Me["role"]) => me(role, { id: 4, email: "approver1@demo.example", full_name: "April Approver" });

const WORKFLOWS: Record<number, string> = {
  71: "FAR Approval Workflow",
  72: "Secondary Review Workflow",
  73: "Survivor Intake",
};

function task(id: number, reference: string, run: number): Task {
  return {
    id,
    run,
    workflow: { id: run - 70, code: null, name: WORKFLOWS[run] ?? "A workflow" },
    step_run: id * 10,
    name: "Approve transfer",
    action: "approval",
    status: "pending",
    subject: { type: "transfer", id: id + 100, reference, amount: "1250.00", currency: "EUR", transfer_type: "FAR" },
    rule: "any",
    required_approvals: 1,
    approvals_count: 0,
    rejections_count: 0,
    due_at: null,
    created_at: new Date(Date.now() - 90 * 60_000).toISOString(),
    decided_at: null,
    decided_by: null,
    claimed_by: null,
    claimed_at: null,
    result: null,
  };
}

function inbox(role: Me["role"], decide: (request: Request) => Response | Promise<Response>) {
  const pending = [task(1, "INV-1001", 71), task(2, "INV-1002", 72)];
  const api = mockApi({
    "GET /api/auth/session/": () => ({ user: approver(role) }),
    "GET /api/tasks/": () => pageOf(pending),
    "POST /api/tasks/1/approve/": async (request) => {
      const answer = await decide(request);
      // What the server does on success: the task is no longer pending.
      if (answer.ok) pending.splice(pending.findIndex((t) => t.id === 1), 1);
      return answer;
    },
  });
  renderSignedIn(<InboxPage />, { route: "/inbox" });
  return api;
}

function card(reference: string): HTMLElement {
  return screen.getByRole("listitem", { name: `Transfer ${reference}` });
}

// The first render of a file compiles its modules, and typing is slow on a busy machine.
configure({ asyncUtilTimeout: 5000 });
vi.setConfig({ testTimeout: 20_000 });

afterEach(() => vi.unstubAllGlobals());

describe("InboxPage", () => {
  it("lists each task with its subject, workflow, step and wait", async () => {
    inbox("SUPERVISOR", () => jsonResponse(200, {}));
    const first = await screen.findByRole("listitem", { name: "Transfer INV-1001" });
    expect(within(first).getByRole("link", { name: "Transfer INV-1001" })).toHaveAttribute("href", "/transfers/101");
    expect(first).toHaveTextContent("1250.00 EUR");
    expect(first).toHaveTextContent("Approve transfer");
    expect(first).toHaveTextContent("1 h 30 min");
    expect(await within(first).findByText("FAR Approval Workflow")).toBeInTheDocument();
  });

  it("approves with the comment, and the task leaves the list without a reload", async () => {
    const user = userEvent.setup();
    const { calls } = inbox("SUPERVISOR", () => jsonResponse(200, { ...task(1, "INV-1001", 71), status: "approved" }));
    const item = await screen.findByRole("listitem", { name: "Transfer INV-1001" });
    await user.type(within(item).getByLabelText("Comment (required to reject)"), "Checked the invoice");
    await user.click(within(item).getByRole("button", { name: "Approve" }));

    await waitFor(() => expect(screen.queryByRole("listitem", { name: "Transfer INV-1001" })).not.toBeInTheDocument());
    expect(calls.filter((c) => c.method === "POST")).toEqual([
      { method: "POST", path: "/api/tasks/1/approve/", body: { comment: "Checked the invoice" } },
    ]);
    expect(card("INV-1002")).toBeInTheDocument();
    expect(screen.getByText(/You approved “Approve transfer” on Transfer INV-1001/)).toBeInTheDocument();
  });

  it("explains a 409 in words and refreshes the list", async () => {
    const user = userEvent.setup();
    const { calls } = inbox("SUPERVISOR", () =>
      jsonResponse(409, { detail: "This task is already approved.", code: "already_decided" }),
    );
    const item = await screen.findByRole("listitem", { name: "Transfer INV-1001" });
    const listLoads = () => calls.filter((c) => c.method === "GET" && c.path.startsWith("/api/tasks/")).length;
    const before = listLoads();
    await user.click(within(item).getByRole("button", { name: "Approve" }));

    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Someone was faster.");
    expect(alert).toHaveTextContent("your decision was not recorded");
    expect(alert).toHaveTextContent("This task is already approved.");
    await waitFor(() => expect(listLoads()).toBeGreaterThan(before));
  });

  it("asks for a comment before a rejection is sent", async () => {
    const user = userEvent.setup();
    const { calls } = inbox("SUPERVISOR", () => jsonResponse(200, {}));
    const item = await screen.findByRole("listitem", { name: "Transfer INV-1001" });
    await user.click(within(item).getByRole("button", { name: "Reject" }));
    expect(await within(item).findByText("Write a comment: a rejection needs a reason.")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST")).toEqual([]);
  });

  it("completes a form task with the fields its step takes", async () => {
    const user = userEvent.setup();
    const safety: Task = {
      ...task(3, "", 73),
      name: "Assess Risk",
      action: "check_safety",
      subject: { type: "case", id: 8, reference: "CASE-DEMO-1", title: "Caller needs a safe place tonight" },
    };
    const { calls } = mockApi({
      "GET /api/auth/session/": () => ({ user: approver("AGENT") }),
      "GET /api/tasks/": () => pageOf([safety]),
      "POST /api/tasks/3/complete/": () => ({ ...safety, status: "completed" }),
    });
    renderSignedIn(<InboxPage />);
    const item = await screen.findByRole("listitem", { name: "Case CASE-DEMO-1" });
    expect(within(item).getByRole("link", { name: "Case CASE-DEMO-1" })).toHaveAttribute("href", "/cases/8");
    await user.click(within(item).getByRole("button", { name: "Complete" }));
    expect(await within(item).findByText("Answer “Risk level”.")).toBeInTheDocument();
    await user.selectOptions(within(item).getByLabelText("Risk level"), "High");
    await user.click(within(item).getByRole("button", { name: "Complete" }));
    await waitFor(() =>
      expect(calls.filter((c) => c.method === "POST")).toEqual([
        { method: "POST", path: "/api/tasks/3/complete/", body: { comment: "", data: { risk_level: "high" } } },
      ]),
    );
  });

  it("offers a VIEWER no decision buttons", async () => {
    inbox("VIEWER", () => jsonResponse(200, {}));
    await screen.findByRole("listitem", { name: "Transfer INV-1001" });
    expect(screen.queryByRole("button", { name: "Approve" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Reject" })).not.toBeInTheDocument();
    expect(screen.getByText(/may read these tasks but not decide them/)).toBeInTheDocument();
  });
});
