import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { Schemas } from "../api/client";
import { Timeline } from "./Timeline";

type ChainItem = Schemas["ChainItem"];

const people: Record<number, string> = { 4: "April Approver", 5: "Abe Approver" };
const nameOf = (id: number | null) => (id == null ? "a removed user" : (people[id] ?? `user #${id}`));

// Given out of order on purpose: the timeline follows execution_order.
const chain: ChainItem[] = [
  {
    id: 13,
    execution_order: 3,
    workflow_template: 9,
    workflow_template_code: "FAR_WF_THIRD",
    workflow_template_name: "Third Look",
    status: "not_started",
    started_at: null,
    finished_at: null,
    current_step: null,
    decisions: [],
  },
  {
    id: 11,
    execution_order: 1,
    workflow_template: 7,
    workflow_template_code: "FAR_WF_V1",
    workflow_template_name: "FAR Approval Workflow",
    status: "completed",
    started_at: "2026-03-02T09:00:00Z",
    finished_at: "2026-03-02T10:00:00Z",
    current_step: null,
    decisions: [
      { step: 21, decision: "approve", decided_by: 4, on_behalf_of: null, decided_at: "2026-03-02T10:00:00Z", comment: "" },
    ],
  },
  {
    id: 12,
    execution_order: 2,
    workflow_template: 8,
    workflow_template_code: "FAR_WF_REVIEW",
    workflow_template_name: "Secondary Review Workflow",
    status: "rejected",
    started_at: "2026-03-02T10:00:00Z",
    finished_at: "2026-03-02T11:00:00Z",
    current_step: null,
    decisions: [
      {
        step: 22,
        decision: "reject",
        decided_by: 5,
        on_behalf_of: 4,
        decided_at: "2026-03-02T11:00:00Z",
        comment: "Invoice number does not match",
      },
    ],
  },
];

describe("Timeline", () => {
  it("shows each workflow in execution order with its decisions, and what never started", () => {
    render(<Timeline chain={chain} nameOf={nameOf} />);
    const items = within(screen.getByRole("list", { name: "Approval chain" })).getAllByRole("listitem", {
      name: (_name, element) => element.classList.contains("timeline-item"),
    });
    expect(items).toHaveLength(3);
    const [first, second, third] = items as [HTMLElement, HTMLElement, HTMLElement];

    expect(within(first).getByRole("heading")).toHaveTextContent("FAR Approval Workflow");
    expect(first).toHaveTextContent("Approved");
    expect(first).toHaveTextContent("Approved by April Approver");

    expect(within(second).getByRole("heading")).toHaveTextContent("Secondary Review Workflow");
    expect(second).toHaveTextContent("Rejected by Abe Approver on behalf of April Approver");
    expect(first).not.toHaveTextContent("on behalf of");
    expect(second).toHaveTextContent("“Invoice number does not match”");

    expect(within(third).getByRole("heading")).toHaveTextContent("Third Look");
    expect(third).toHaveTextContent("Never started");
    expect(third).not.toHaveTextContent("Started");
    expect(first).not.toHaveTextContent("Never started");
    expect(second).not.toHaveTextContent("Never started");
  });

  it("says a later workflow is not started yet while the chain is still running", () => {
    const running: ChainItem[] = [
      { ...chain[1]! },
      {
        ...chain[2]!,
        status: "running",
        finished_at: null,
        current_step: { id: 30, name: "Approve transfer", action: "approval" },
        decisions: [],
      },
      { ...chain[0]! },
    ];
    render(<Timeline chain={running} nameOf={nameOf} />);
    expect(screen.getByText("Running").closest("li")).toHaveTextContent("Running at step Approve transfer");
    expect(screen.getByText("Not started yet")).toBeInTheDocument();
    expect(screen.queryByText("Never started")).not.toBeInTheDocument();
  });
});
