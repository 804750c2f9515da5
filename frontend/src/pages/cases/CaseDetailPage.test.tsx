
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { Schemas } from "../../api/client";
import { me } from "../../test/data";
import { jsonResponse, mockApi, renderSignedIn } from "../../test/render";
import { CaseDetailPage } from "./CaseDetailPage";

type Role = Schemas["RoleEnum"];

const meAs = (role: Role) => me(role, { id: 3, email: `${role.toLowerCase()}@demo.example`, full_name: "Ann Agent" });

function step(id: number, order: number, name: string, action: string, status: Schemas["RunStepStatusEnum"]): Schemas["RunStep"] {
  return {
    id,
    order,
    name,
    action,
    status,
    attempts: status === "pending" ? 0 : 1,
    started_at: status === "pending" ? null : "2026-03-02T10:00:00Z",
    finished_at: status === "completed" ? "2026-03-02T10:05:00Z" : null,
    last_error: "",
  };
}

// Given out of order on purpose: the page orders steps by their `order`.
const intake: Schemas["RunDetail"] = {
  id: 40,
  workflow: 5,
  workflow_name: "Survivor Intake",
  subject_type: "case",
  subject_id: 7,
  sequence: 1,
  status: "running",
  started_at: "2026-03-02T10:00:00Z",
  finished_at: null,
  steps: [
    step(103, 2, "Notify Supervisor", "send_email", "pending"),
    step(101, 0, "Verify Contact", "verify_contact", "completed"),
    step(102, 1, "Assess Risk", "check_safety", "waiting"),
  ],
  history: [
    { object_type: "step_run", object_id: 101, from_status: "waiting", to_status: "completed", actor: 3, comment: "called back", created_at: "2026-03-02T10:05:00Z" },
  ],
};

const theCase: Schemas["CaseDetail"] = {
  id: 7,
  reference: "CASE-DEMO-1",
  title: "Caller needs a safe place tonight",
  description: "Caller is safe for the moment.",
  status: "open",
  priority: "high",
  assignee: 3,
  assignee_email: "agent@demo.example",
  data: { channel: "phone" },
  created_by: 3,
  updated_by: 3,
  created_at: "2026-03-02T09:59:00Z",
  updated_at: "2026-03-02T09:59:00Z",
  closed_at: null,
  runs: [{ ...intake, history: undefined } as unknown as Schemas["Run"]],
};

const workflows: Schemas["PaginatedWorkflowList"] = {
  count: 2,
  results: [
    { id: 5, tenant: 1, name: "Survivor Intake", description: "", is_active: true, code: "SURVIVOR_INTAKE", transfer_type: "", steps: [], created_at: "", updated_at: "", created_by: null, updated_by: null },
    { id: 6, tenant: 1, name: "FAR Approval Workflow", description: "", is_active: true, code: "FAR_WF_V1", transfer_type: "FAR", steps: [], created_at: "", updated_at: "", created_by: null, updated_by: null },
  ],
};

function renderPage(role: Role, routes: Parameters<typeof mockApi>[0] = {}) {
  const api = mockApi({
    "GET /api/auth/session/": () => ({ user: meAs(role) }),
    "GET /api/cases/7/": () => theCase,
    "GET /api/runs/40/": () => intake,
    "GET /api/tenants/1/workflows/": () => workflows,
    ...routes,
  });
  renderSignedIn(<CaseDetailPage />, { route: "/cases/7", path: "/cases/:id" });
  return api;
}

afterEach(() => vi.unstubAllGlobals());

describe("CaseDetailPage", () => {
  it("shows the case's facts and its run's steps in order, each with its status", async () => {
    renderPage("AGENT");
    expect(await screen.findByRole("heading", { level: 1, name: /CASE-DEMO-1: Caller needs a safe place tonight/ })).toBeInTheDocument();
    const steps = await screen.findByRole("list", { name: "Steps of Survivor Intake" });
    const items = within(steps).getAllByRole("listitem");
    expect(items.map((li) => li.querySelector("strong")?.textContent)).toEqual([
      "1. Verify Contact",
      "2. Assess Risk",
      "3. Notify Supervisor",
    ]);
    expect(items[0]).toHaveTextContent("Completed");
    expect(items[0]).toHaveTextContent("Completed by you (agent@demo.example)");
    expect(items[0]).toHaveTextContent("Comment: called back");
    expect(items[1]).toHaveTextContent("Waiting for a person");
    expect(within(items[1]!).getByRole("link", { name: "complete it in your inbox" })).toHaveAttribute("href", "/inbox");
    expect(items[2]).toHaveTextContent("Not reached yet");
    // An AGENT may not cancel a run.
    expect(screen.queryByRole("button", { name: /Cancel this run/ })).not.toBeInTheDocument();
  });

  it("starts a workflow: sends the chosen workflow and shows the new run", async () => {
    const started: Schemas["RunDetail"] = { ...intake, id: 41, sequence: 2, steps: [step(201, 0, "Verify Contact", "verify_contact", "waiting")], history: [] };
    let runs = theCase.runs;
    const api = renderPage("AGENT", {
      // As the server does: after the start, the case lists the new run too.
      "GET /api/cases/7/": () => ({ ...theCase, runs }),
      "POST /api/cases/7/runs/": () => {
        runs = [...theCase.runs, started];
        return jsonResponse(201, started);
      },
      "GET /api/runs/41/": () => started,
    });
    const user = userEvent.setup();
    await user.selectOptions(await screen.findByLabelText("Workflow"), "Survivor Intake");
    await user.click(screen.getByRole("button", { name: "Start workflow" }));
    await waitFor(() =>
      expect(api.calls).toContainEqual({ method: "POST", path: "/api/cases/7/runs/", body: { workflow: 5 } }),
    );
    expect(await screen.findByText("Started Survivor Intake.")).toBeInTheDocument();
    expect(await screen.findByRole("heading", { name: /Survivor Intake \(run 2\)/ })).toBeInTheDocument();
  });

  it("shows the server's field message next to the workflow picker", async () => {
    renderPage("AGENT", {
      "POST /api/cases/7/runs/": () => jsonResponse(400, { workflow: ["This workflow is not active."] }),
    });
    const user = userEvent.setup();
    await user.selectOptions(await screen.findByLabelText("Workflow"), "FAR Approval Workflow (for FAR transfers)");
    await user.click(screen.getByRole("button", { name: "Start workflow" }));
    expect(await screen.findByText("This workflow is not active.")).toHaveAttribute("id", "start-workflow-error");
  });

  it("lets a SUPERVISOR cancel an active run with a reason, and explains a 409 in words", async () => {
    const api = renderPage("SUPERVISOR", {
      "GET /api/tenants/1/users/": () => ({ count: 0, results: [] }),
      "GET /api/audit-log/": () => ({
        count: 1,
        results: [{ id: 9, object_type: "workflows.steprun", object_id: 101, operation: "update", old_data: {}, new_data: { result: { decision: "completed", data: { contact_verified: true } } }, actor_id: 3, request_id: null, created_at: "2026-03-02T10:05:00Z" }],
      }),
      "POST /api/runs/40/cancel/": () => jsonResponse(409, { detail: "This run has already finished." }),
    });
    // A finished step's result, read from its audit entry (ADMIN, SUPERVISOR).
    const steps = await screen.findByRole("list", { name: "Steps of Survivor Intake" });
    expect(await within(steps).findByLabelText("Result")).toHaveTextContent(/contact verified:\s*yes/);
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Reason for cancelling (optional)"), "duplicate call");
    await user.click(screen.getByRole("button", { name: "Cancel this run" }));
    await waitFor(() =>
      expect(api.calls).toContainEqual({ method: "POST", path: "/api/runs/40/cancel/", body: { comment: "duplicate call" } }),
    );
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "This run has already finished. Someone else changed this first. The page now shows the latest state.",
    );
  });

  it("offers a VIEWER no button, no start form and no inbox link", async () => {
    renderPage("VIEWER");
    await screen.findByRole("list", { name: "Steps of Survivor Intake" });
    const names = screen.queryAllByRole("button").map((b) => b.textContent);
    expect(names).toEqual([]);
    expect(screen.queryByLabelText("Workflow")).not.toBeInTheDocument();
    expect(screen.queryByRole("link", { name: /inbox/ })).not.toBeInTheDocument();
  });

  it("says Not found for another tenant's or a missing case", async () => {
    renderPage("AGENT", { "GET /api/cases/7/": () => jsonResponse(404, { detail: "Not found." }) });
    expect(await screen.findByText("Not found")).toBeInTheDocument();
  });
});
