// An audit entry's before/after rows as "field: old → new" lines a person can read.
import type { Schemas } from "../../api/client";

export type AuditEvent = Schemas["AuditEvent"];

export interface Change {
  field: string;
  before?: string;
  after?: string;
}

// Bookkeeping every row carries; what changed is clearer without it.
const HIDDEN = new Set(["id", "tenant_id", "created_at", "updated_at", "idempotency_key", "claimed_until", "password"]);
const MAX = 160;

export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === "") return "(empty)";
  if (typeof value === "boolean") return value ? "yes" : "no";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > MAX ? `${text.slice(0, MAX)}…` : text;
}

function asRow(value: unknown): Record<string, unknown> | null {
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// Columns that hold a user id: shown as the person's name when one is given.
const USER_FIELD = /(^|_)(by|assignee|user|actor)_id$/;

/** Changed fields of an update; the fields set by an insert; the fields of a removed row. */
export function changes(
  event: Pick<AuditEvent, "old_data" | "new_data">,
  nameOf?: (id: number) => string,
): Change[] {
  const show = (field: string, value: unknown) =>
    nameOf && USER_FIELD.test(field) && typeof value === "number" ? nameOf(value) : formatValue(value);
  const before = asRow(event.old_data);
  const after = asRow(event.new_data);
  const fields = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const out: Change[] = [];
  for (const field of [...fields].sort()) {
    if (HIDDEN.has(field)) continue;
    const old = before?.[field];
    const now = after?.[field];
    if (before && after) {
      if (!same(old, now)) out.push({ field, before: show(field, old), after: show(field, now) });
    } else if (after) {
      if (now !== null && now !== "" && !same(now, {}) && !same(now, [])) out.push({ field, after: show(field, now) });
    } else if (before) {
      out.push({ field, before: show(field, old) });
    }
  }
  return out;
}

const OPERATIONS: Record<string, string> = {
  insert: "Created",
  update: "Changed",
  delete: "Deleted",
};

export function operationLabel(operation: string): string {
  return OPERATIONS[operation] ?? operation;
}
