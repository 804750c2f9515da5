// Test data for the transfer screens' component tests.
import type { Schemas } from "../../api/client";
import { me } from "../../test/data";

export function meAs(role: Schemas["Me"]["role"], id = 2): Schemas["Me"] {
  return me(role, { id, email: "agent@demo.example", full_name: "Alex Agent" });
}

export const financeGroup: Schemas["SecurityGroup"] = {
  id: 3,
  name: "Finance Team",
  description: "",
  is_active: true,
  member_count: 2,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
  created_by: null,
  updated_by: null,
};

export function transfer(overrides: Partial<Schemas["Transfer"]> = {}): Schemas["Transfer"] {
  return {
    id: 5,
    reference: "INV-1001",
    security_group: 3,
    security_group_name: "Finance Team",
    transfer_type: "FAR",
    amount: "1250.00",
    currency: "EUR",
    description: "Office rent",
    payload: {},
    status: "pending",
    created_by: 2,
    created_at: "2026-03-02T09:00:00Z",
    updated_at: "2026-03-02T09:00:00Z",
    finished_at: null,
    chain: [
      {
        id: 11,
        execution_order: 1,
        workflow_template: 7,
        workflow_template_code: "FAR_WF_V1",
        workflow_template_name: "FAR Approval Workflow",
        status: "running",
        started_at: "2026-03-02T09:00:00Z",
        finished_at: null,
        current_step: { id: 21, name: "Approve transfer", action: "approval" },
        decisions: [],
      },
    ],
    ...overrides,
  };
}
