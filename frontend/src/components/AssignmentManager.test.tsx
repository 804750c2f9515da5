import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import type { Schemas } from "../api/client";
import { jsonResponse, mockApi, renderWithProviders } from "../test/render";
import { AssignmentManager } from "./AssignmentManager";

type Assignment = Schemas["WorkflowAssignment"];
type Workflow = Schemas["Workflow"];

function assignment(id: number, template: number, name: string, order: number): Assignment {
  return {
    id,
    security_group: 7,
    security_group_name: "Finance Team",
    workflow_template: template,
    workflow_template_name: name,
    workflow_template_code: `WF_${template}`,
    transfer_type: "FAR",
    execution_order: order,
    is_active: true,
    created_at: "2025-12-11T10:00:00Z",
    created_by: 1,
  };
}

function workflow(id: number, name: string): Workflow {
  return {
    id,
    tenant: 1,
    name,
    description: "",
    is_active: true,
    code: `WF_${id}`,
    transfer_type: "FAR",
    steps: [],
    created_at: "2025-12-11T10:00:00Z",
    updated_at: "2025-12-11T10:00:00Z",
    created_by: 1,
    updated_by: 1,
  };
}

// The server answers in execution order; these come shuffled to prove the list sorts.
const ASSIGNMENTS = [
  assignment(12, 7, "Final Sign-off", 3),
  assignment(10, 5, "FAR Approval Workflow", 1),
  assignment(11, 6, "Secondary Review Workflow", 2),
];
const WORKFLOWS = [
  workflow(5, "FAR Approval Workflow"),
  workflow(6, "Secondary Review Workflow"),
  workflow(7, "Final Sign-off"),
  workflow(8, "Audit Check"),
];

/** A server that remembers a reorder, so the refetch after it shows the new order. */
function routes(extra: Parameters<typeof mockApi>[0] = {}) {
  let state = [...ASSIGNMENTS];
  return mockApi({
    "GET /api/approvals/workflow-assignments/": () => ({
      success: true,
      count: state.length,
      assignments: state,
    }),
    "GET /api/tenants/1/workflows/": () => ({ count: WORKFLOWS.length, results: WORKFLOWS }),
    "PUT /api/approvals/workflow-assignments/reorder/": async (request) => {
      const body = (await request.json()) as Schemas["ReorderInputRequest"];
      const byId = new Map(state.map((a) => [a.id, a]));
      state = body.assignment_orders.map((o) => ({
        ...byId.get(o.assignment_id)!,
        execution_order: o.execution_order,
      }));
      return { success: true, message: "Reordered", assignments: state };
    },
    ...extra,
  });
}

function renderManager(canEdit = true) {
  return renderWithProviders(
    <AssignmentManager groupId={7} groupName="Finance Team" tenantId={1} canEdit={canEdit} />,
  );
}

function names(): string[] {
  const list = screen.getByRole("list", { name: "Workflows of Finance Team, in execution order" });
  return within(list)
    .getAllByRole("listitem")
    .map((li) => li.querySelector(".assignment-name")?.textContent ?? "");
}

describe("AssignmentManager", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("lists the group's workflows in execution order, and asked for this group only", async () => {
    const { calls } = routes();
    renderManager();
    await screen.findByText("Final Sign-off");
    expect(names()).toEqual(["FAR Approval Workflow", "Secondary Review Workflow", "Final Sign-off"]);
    expect(calls[0]?.path).toBe("/api/approvals/workflow-assignments/?security_group=7");
  });

  it("Move down sends /reorder/ with the new orders", async () => {
    const { calls } = routes();
    renderManager();
    const button = await screen.findByRole("button", { name: "Move FAR Approval Workflow down" });
    await userEvent.click(button);
    await screen.findByText("New order saved.");
    const sent = calls.find((c) => c.path === "/api/approvals/workflow-assignments/reorder/");
    expect(sent?.method).toBe("PUT");
    expect(sent?.body).toEqual({
      security_group_id: 7,
      assignment_orders: [
        { assignment_id: 11, execution_order: 1 },
        { assignment_id: 10, execution_order: 2 },
        { assignment_id: 12, execution_order: 3 },
      ],
    });
    expect(names()).toEqual(["Secondary Review Workflow", "FAR Approval Workflow", "Final Sign-off"]);
  });

  describe("with the keyboard", () => {
    // jsdom lays nothing out; dnd-kit needs each row's box to find "the one below".
    let restore: () => void;
    beforeEach(() => {
      const original = Element.prototype.getBoundingClientRect;
      Element.prototype.getBoundingClientRect = function (this: Element) {
        const row = this.closest('[data-testid="sortable-item"]');
        const index = row?.parentElement ? Array.from(row.parentElement.children).indexOf(row) : 0;
        const top = row ? index * 60 : 0;
        const height = row ? 50 : 0;
        return {
          x: 0,
          y: top,
          top,
          left: 0,
          width: row ? 400 : 0,
          height,
          right: row ? 400 : 0,
          bottom: top + height,
          toJSON: () => ({}),
        } as DOMRect;
      };
      restore = () => {
        Element.prototype.getBoundingClientRect = original;
      };
    });
    afterEach(() => restore());

    it("Space, ArrowDown, Space on a handle sends /reorder/ with the new orders", async () => {
      const { calls } = routes();
      renderManager();
      const handle = await screen.findByRole("button", { name: /^Drag FAR Approval Workflow/ });
      handle.focus();
      fireEvent.keyDown(handle, { key: " ", code: "Space" });
      await waitFor(() => expect(handle).toHaveAttribute("aria-pressed", "true"));
      fireEvent.keyDown(document.activeElement ?? handle, { key: "ArrowDown", code: "ArrowDown" });
      await new Promise((resolve) => setTimeout(resolve, 50));
      fireEvent.keyDown(document.activeElement ?? handle, { key: " ", code: "Space" });
      await screen.findByText("New order saved.");
      const sent = calls.find((c) => c.path === "/api/approvals/workflow-assignments/reorder/");
      expect(sent?.body).toEqual({
        security_group_id: 7,
        assignment_orders: [
          { assignment_id: 11, execution_order: 1 },
          { assignment_id: 10, execution_order: 2 },
          { assignment_id: 12, execution_order: 3 },
        ],
      });
    });
  });

  it("Replace all asks first, saying it replaces every assignment, and only then sends /bulk-assign/", async () => {
    const bulk = vi.fn(() => jsonResponse(201, { success: true, assignments: [] }));
    const { calls } = routes({ "POST /api/approvals/workflow-assignments/bulk-assign/": bulk });
    renderManager();
    await screen.findByText("Final Sign-off");
    const opener = await screen.findByRole("button", { name: "Replace all…" });
    await waitFor(() => expect(opener).toBeEnabled());
    await userEvent.click(opener);
    const dialog = screen.getByRole("dialog", { name: "Replace all assignments of Finance Team" });
    expect(dialog).toHaveTextContent("This replaces every assignment of Finance Team");
    expect(dialog).toHaveTextContent("all 3 current assignments will be deleted");
    expect(bulk).not.toHaveBeenCalled();

    // Cancel sends nothing and gives focus back.
    await userEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(opener).toHaveFocus();
    expect(bulk).not.toHaveBeenCalled();

    await userEvent.click(opener);
    const again = screen.getByRole("dialog");
    await userEvent.click(within(again).getByLabelText("Audit Check (WF_8)"));
    await userEvent.click(within(again).getByLabelText("Secondary Review Workflow (WF_6)"));
    await userEvent.click(within(again).getByRole("button", { name: "Replace every assignment" }));
    await waitFor(() => expect(bulk).toHaveBeenCalledTimes(1));
    const sent = calls.find((c) => c.path === "/api/approvals/workflow-assignments/bulk-assign/");
    expect(sent?.body).toEqual({
      security_group_id: 7,
      workflow_assignments: [
        { workflow_template_id: 5, execution_order: 1 },
        { workflow_template_id: 7, execution_order: 2 },
        { workflow_template_id: 8, execution_order: 3 },
      ],
    });
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });

  it("shows the server's duplicate-assignment message next to the workflow field", async () => {
    const message = "Workflow template 'WF_8' is already assigned to security group 'Finance Team'";
    routes({
      "POST /api/approvals/workflow-assignments/": () =>
        jsonResponse(400, { success: false, errors: { non_field_errors: [message] } }),
    });
    renderManager();
    const select = await screen.findByLabelText("Workflow");
    await userEvent.selectOptions(select, "Audit Check (WF_8)");
    await userEvent.click(screen.getByRole("button", { name: "Add at the end" }));
    const error = await screen.findByText(message);
    expect(select).toHaveAttribute("aria-describedby", error.id);
    expect(select).toHaveAttribute("aria-invalid", "true");
  });

  it("shows an unknown security group's message by the form, naming the field", async () => {
    routes({
      "POST /api/approvals/workflow-assignments/": () =>
        jsonResponse(400, {
          success: false,
          errors: { security_group: ['Invalid pk "7" - object does not exist.'] },
        }),
    });
    renderManager();
    await userEvent.selectOptions(await screen.findByLabelText("Workflow"), "Audit Check (WF_8)");
    await userEvent.click(screen.getByRole("button", { name: "Add at the end" }));
    expect(await screen.findByText(/Security group: Invalid pk "7"/)).toBeInTheDocument();
  });

  it("offers no write controls to a role that may not write", async () => {
    const { calls } = routes();
    renderManager(false);
    await screen.findByText("Final Sign-off");
    expect(names()).toEqual(["FAR Approval Workflow", "Secondary Review Workflow", "Final Sign-off"]);
    expect(screen.queryByRole("button")).not.toBeInTheDocument();
    expect(screen.queryByRole("checkbox")).not.toBeInTheDocument();
    expect(calls.some((c) => c.path.startsWith("/api/tenants/"))).toBe(false);
  });
});
