// What each built-in action's `config` holds, typed, in one place. GET /api/actions/ names an
// action's config keys (`config_fields`) but not their shapes, so the shapes live here and are
// checked against the server's keys: an action whose keys differ from ours (a project's own
// action, or a built-in that gained a key) gets the raw JSON editor instead of a wrong form.
import type { Schemas } from "../api/client";

export type Action = Schemas["Action"];
export type Role = Schemas["RoleEnum"];

export const ROLES: readonly Role[] = ["ADMIN", "SUPERVISOR", "AGENT", "VIEWER"];

interface Base {
  key: string;
  label: string;
  help?: string;
  /** Shown (and sent) only while another field has this value: approval's quorum. */
  when?: { key: string; equals: string };
}

export type ConfigField =
  | (Base & { kind: "text" | "textarea" | "url" })
  | (Base & { kind: "integer"; min: number; max: number })
  | (Base & { kind: "boolean" })
  | (Base & {
      kind: "choice";
      choices: readonly { value: string; label: string }[];
    })
  | (Base & { kind: "approvers" })
  | (Base & { kind: "recipients" });

export const ACTION_FIELDS: Record<string, readonly ConfigField[]> = {
  approval: [
    { key: "approvers", label: "Approvers", kind: "approvers" },
    {
      key: "rule",
      label: "Rule",
      kind: "choice",
      choices: [
        { value: "any", label: "Any: the first decision wins" },
        { value: "all", label: "All: everyone approves; one rejection rejects" },
        { value: "quorum", label: "Quorum: a number of approvals" },
        { value: "percent", label: "Percent: a share of the approvers" },
      ],
    },
    {
      key: "quorum",
      label: "Quorum (approvals needed)",
      kind: "integer",
      min: 1,
      max: 1000,
      when: { key: "rule", equals: "quorum" },
    },
    { key: "allow_self_approval", label: "Allow the creator to approve their own request", kind: "boolean" },
    {
      key: "due_in_hours",
      label: "Due in (hours)",
      kind: "integer",
      min: 1,
      max: 24 * 365,
      help: "Optional.",
    },
    {
      key: "percent",
      label: "Percent of the approvers needed",
      kind: "integer",
      min: 1,
      max: 100,
      when: { key: "rule", equals: "percent" },
    },
    {
      key: "reject_rule",
      label: "Rejections that reject the step",
      kind: "integer",
      min: 1,
      max: 1000,
      help: "Optional: empty keeps the rule's own (1 is the first rejection).",
    },
    {
      key: "exclude_previous_deciders",
      label: "Exclude whoever decided an earlier step of this request",
      kind: "boolean",
    },
    {
      key: "remind_every_hours",
      label: "Remind every (hours)",
      kind: "integer",
      min: 1,
      max: 24 * 365,
      help: "Optional; needs a due time.",
    },
    {
      key: "escalate_after_hours",
      label: "Escalate after (hours)",
      kind: "integer",
      min: 1,
      max: 24 * 365,
      help: "Optional; needs a due time and the timeout set to escalate.",
      when: { key: "on_timeout", equals: "escalate" },
    },
    {
      key: "on_timeout",
      label: "When the due time passes",
      kind: "choice",
      choices: [
        { value: "", label: "Nothing: the task stays open" },
        { value: "reject", label: "Reject" },
        { value: "approve", label: "Approve" },
        { value: "escalate", label: "Escalate" },
        { value: "fail", label: "Fail the run" },
      ],
    },
    { key: "escalate_to", label: "Escalate to", kind: "approvers", when: { key: "on_timeout", equals: "escalate" } },
    { key: "business_hours", label: "Count the tenant's business hours", kind: "boolean" },
  ],
  send_email: [
    { key: "to", label: "Recipients", kind: "recipients" },
    {
      key: "subject",
      label: "Subject",
      kind: "text",
      help: "May use {workflow}, {step}, {subject_type}, {subject_id} and the subject's fields.",
    },
    { key: "body", label: "Body", kind: "textarea" },
  ],
  webhook: [
    { key: "url", label: "URL", kind: "url", help: "http or https, with a host." },
    { key: "timeout_s", label: "Timeout (seconds)", kind: "integer", min: 1, max: 60 },
    { key: "max_attempts", label: "Attempts at most", kind: "integer", min: 1, max: 20 },
  ],
  check_safety: [],
  verify_contact: [],
};

/** Our typed fields for `action`, or null when we do not know exactly its config keys. */
export function fieldsFor(action: Action | undefined): readonly ConfigField[] | null {
  if (!action) return null;
  const ours = ACTION_FIELDS[action.key];
  if (!ours) return null;
  const theirs = [...action.config_fields].sort();
  const mine = ours.map((f) => f.key).sort();
  return theirs.length === mine.length && theirs.every((k, i) => k === mine[i]) ? ours : null;
}

/** A step's config in a sentence, for the step list. */
export function describeConfig(
  actionKey: string,
  config: unknown,
  groupName: (id: number) => string,
): string {
  const c = isObject(config) ? config : {};
  if (actionKey === "approval") {
    const approvers = isObject(c.approvers) ? describeWho(c.approvers, groupName) : "the subject's own approvers";
    const rule = typeof c.rule === "string" ? c.rule : "any";
    const quorum = rule === "quorum" && typeof c.quorum === "number" ? ` (${c.quorum})` : "";
    return `Approvers: ${approvers}; rule: ${rule}${quorum}`;
  }
  if (actionKey === "send_email") {
    const to = isObject(c.to) ? describeWho(c.to, groupName) : "the tenant's supervisors";
    return `Email to ${to}`;
  }
  if (actionKey === "webhook") return `POST to ${typeof c.url === "string" ? c.url : "(no URL)"}`;
  return "Nothing to configure";
}

function describeWho(who: Record<string, unknown>, groupName: (id: number) => string): string {
  if (who.default === true) return "the subject's own approvers";
  if (typeof who.security_group === "number") return `security group ${groupName(who.security_group)}`;
  if (typeof who.role === "string") return `role ${who.role}`;
  if (Array.isArray(who.users)) return `users ${who.users.join(", ")}`;
  if (Array.isArray(who.emails)) return who.emails.join(", ");
  return JSON.stringify(who);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
