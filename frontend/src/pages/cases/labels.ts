// Plain words for the API's codes.
import type { Schemas } from "../../api/client";

export const CASE_STATUSES: Record<Schemas["CaseStatusEnum"], string> = {
  open: "Open",
  in_progress: "In progress",
  closed: "Closed",
};

export const PRIORITIES: Record<Schemas["PriorityEnum"], string> = {
  low: "Low",
  normal: "Normal",
  high: "High",
  urgent: "Urgent",
};

export const RUN_STATUSES: Record<Schemas["RunStatusEnum"], string> = {
  not_started: "Not started",
  running: "Running",
  completed: "Completed",
  rejected: "Rejected",
  failed: "Failed",
  cancelled: "Cancelled",
};

export const STEP_STATUSES: Record<Schemas["RunStepStatusEnum"], string> = {
  pending: "Not reached yet",
  waiting: "Waiting for a person",
  running: "Running",
  completed: "Completed",
  rejected: "Rejected",
  failed: "Failed",
  cancelled: "Cancelled",
};

export const ACTIONS: Record<string, string> = {
  verify_contact: "Verify contact (form)",
  check_safety: "Assess risk (form)",
  approval: "Approval",
  send_email: "Send an email",
  webhook: "Call a webhook",
};

/** Steps a person completes with a form in the inbox. */
export const FORM_ACTIONS = new Set(["verify_contact", "check_safety"]);

export function isActiveRun(status: Schemas["RunStatusEnum"]): boolean {
  return status === "running" || status === "not_started";
}

export function isKey<T extends object>(map: T, key: string): key is Extract<keyof T, string> {
  return Object.prototype.hasOwnProperty.call(map, key);
}
