import { render, screen } from "@testing-library/react";
import { afterEach, expect, it, vi } from "vitest";

import { mockApi } from "../test/render";
import { WorkflowAssignmentManager } from "./WorkflowAssignmentManager";

afterEach(() => vi.unstubAllGlobals());

it("the specification's component, unchanged, lists the names the API answers", async () => {
  const { calls } = mockApi({
    "GET /api/approvals/workflow-assignments/": () => ({
      assignments: [
        { id: 1, workflow_template_name: "FAR Approval Workflow", execution_order: 1 },
        { id: 2, workflow_template_name: "Secondary Review Workflow", execution_order: 2 },
      ],
    }),
  });
  render(<WorkflowAssignmentManager securityGroupId={1} />);
  expect(
    screen.getByRole("heading", { name: "Assigned Workflows (Sequential Execution)" }),
  ).toBeInTheDocument();
  expect(await screen.findByText("FAR Approval Workflow")).toBeInTheDocument();
  expect(screen.getByText("Secondary Review Workflow")).toBeInTheDocument();
  expect(screen.getAllByRole("listitem").map((li) => li.textContent)).toEqual([
    "FAR Approval Workflow",
    "Secondary Review Workflow",
  ]);
  expect(calls).toEqual([
    { method: "GET", path: "/api/approvals/workflow-assignments/?security_group=1", body: undefined },
  ]);
});
