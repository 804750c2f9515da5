// Test data shaped exactly as the API answers (GET /api/actions/ copied from the registry).
import type { Schemas } from "../../api/client";
import { envelopeOf } from "../../test/data";

export const ACTIONS: Schemas["Action"][] = [
  {
    key: "approval",
    kind: "human",
    label: "Approval",
    description: "Eligible approvers approve or reject; rule any, all or quorum.",
    decisions: ["approve", "reject"],
    config_fields: [
      "approvers",
      "rule",
      "reject_rule",
      "allow_self_approval",
      "exclude_previous_deciders",
      "due_in_hours",
      "quorum",
      "percent",
      "remind_every_hours",
      "escalate_after_hours",
      "escalate_to",
      "on_timeout",
      "business_hours",
    ],
    config_required: [],
    config_defaults: { approvers: { default: true }, rule: "any", allow_self_approval: false },
    form_fields: [],
  },
  {
    key: "check_safety",
    kind: "human",
    label: "Check safety",
    description: "A person assesses the risk level.",
    decisions: ["complete"],
    config_fields: [],
    config_required: [],
    config_defaults: {},
    form_fields: ["risk_level"],
  },
  {
    key: "send_email",
    kind: "automated",
    label: "Send email",
    description: "Sends a templated email to addresses, a security group or a role.",
    decisions: ["complete"],
    config_fields: ["to", "subject", "body"],
    config_required: [],
    config_defaults: {
      to: { role: "SUPERVISOR" },
      subject: "{workflow}: {step} ({subject_type} #{subject_id})",
      body: "Workflow: {workflow}\nStep: {step}\n",
    },
    form_fields: [],
  },
  {
    key: "verify_contact",
    kind: "human",
    label: "Verify contact",
    description: "A person confirms the contact details.",
    decisions: ["complete"],
    config_fields: [],
    config_required: [],
    config_defaults: {},
    form_fields: ["contact_verified"],
  },
  {
    key: "webhook",
    kind: "automated",
    label: "Webhook",
    description: "POSTs signed JSON to a URL, with retries.",
    decisions: ["complete"],
    config_fields: ["url", "timeout_s", "max_attempts"],
    config_required: ["url"],
    config_defaults: { timeout_s: 10, max_attempts: 5 },
    form_fields: [],
  },
];

/** A project's own action the console has no form for. */
export const CUSTOM_ACTION: Schemas["Action"] = {
  key: "score_call",
  kind: "automated",
  label: "Score the call",
  description: "A project's own action.",
  decisions: ["complete"],
  config_fields: ["threshold"],
  config_required: [],
  config_defaults: { threshold: 3 },
  form_fields: [],
};

const GROUPS: Schemas["SecurityGroup"][] = [
  { id: 7, name: "Finance Team", description: "", is_active: true, member_count: 2, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", created_by: null, updated_by: null },
  { id: 9, name: "Legal", description: "", is_active: true, member_count: 1, created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", created_by: null, updated_by: null },
];

export const GROUPS_PAGE = envelopeOf("security_groups", GROUPS) satisfies Schemas["SecurityGroupPageEnvelope"];

export function step(id: number, name: string, order: number, action = "approval", config: unknown = {}): Schemas["Step"] {
  return {
    id,
    workflow: 5,
    name,
    order,
    action,
    config,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    created_by: 1,
    updated_by: 1,
  };
}

export function workflow(steps: Schemas["Step"][]): Schemas["Workflow"] {
  return {
    id: 5,
    tenant: 1,
    name: "Two-step approval",
    description: "",
    is_active: true,
    code: "TWO",
    transfer_type: "FAR",
    steps,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    created_by: 1,
    updated_by: 1,
  };
}
