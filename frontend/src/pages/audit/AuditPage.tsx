// /audit: the tenant's audit trail (ADMIN, SUPERVISOR), newest first, filtered by object type
// and id (the API's filters; both and the page live in the URL).
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { ApiError, api, unwrap } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { LabelOptions } from "../../components/LabelOptions";
import { FieldError, QueryView } from "../../components/States";
import { Pagination, useFilters, usePage } from "../../components/Pagination";
import { when } from "../../components/time";
import { changes, operationLabel, type AuditEvent } from "./diff";
import { usePeople } from "./people";
import "./audit.css";

const PAGE_SIZE = 25;
const FILTERS = ["object_type", "object_id"] as const;

/** Model labels the API knows (core/api/audit.py: "app_label.model"), in words. */
export const OBJECT_TYPES: Record<string, string> = {
  "cases.case": "Case",
  "approvals.transfer": "Transfer",
  "workflows.workflow": "Workflow",
  "workflows.step": "Workflow step",
  "workflows.workflowrun": "Workflow run",
  "workflows.steprun": "Step of a run",
  "workflows.humantask": "Task",
  "workflows.taskballot": "Task decision",
  "approvals.securitygroup": "Security group",
  "approvals.securitygroupmember": "Security group member",
  "approvals.workflowassignment": "Workflow assignment",
  "accounts.user": "User",
};

export function AuditPage() {
  const me = useMe();
  if (!can.readAudit(me.role)) {
    return (
      <section>
        <h1>Audit log</h1>
        <p>Your role ({me.role}) may not read the audit log; an ADMIN or SUPERVISOR can.</p>
      </section>
    );
  }
  return <AuditLog />;
}

function AuditLog() {
  const page = usePage();
  const [filters, setFilter] = useFilters(FILTERS);
  const objectId = /^\d{1,15}$/.test(filters.object_id) ? Number(filters.object_id) : undefined;
  const query = {
    page,
    page_size: PAGE_SIZE,
    ...(filters.object_type ? { object_type: filters.object_type } : {}),
    ...(objectId !== undefined ? { object_id: objectId } : {}),
  };
  const entries = useQuery({
    queryKey: ["audit", query],
    queryFn: () => unwrap(api.GET("/api/audit-log/", { params: { query } })),
    placeholderData: keepPreviousData,
  });
  const fieldError = (name: string) =>
    entries.error instanceof ApiError && entries.error.status === 400 ? entries.error.field(name) : undefined;
  const filtered = Boolean(filters.object_type || filters.object_id);

  return (
    <section>
      <h1>Audit log</h1>
      <p className="muted">Every change to your organisation&apos;s data: who, when, and what changed. Newest first.</p>
      <AuditFilters
        key={`${filters.object_type}|${filters.object_id}`}
        values={filters}
        set={setFilter}
        errors={{ object_type: fieldError("object_type"), object_id: fieldError("object_id") }}
      />
      <QueryView
        query={entries}
        what="the audit log"
        isEmpty={(data) => data.results.length === 0}
        empty={filtered ? "Nothing was recorded for this object." : "Nothing recorded yet."}
      >
        {(data) => (
          <>
            <ol className="audit-list" aria-label="Audit entries">
              {data.results.map((event) => (
                <AuditEntry key={event.id} event={event} />
              ))}
            </ol>
            <Pagination count={data.count} pageSize={PAGE_SIZE} label="Audit log" />
          </>
        )}
      </QueryView>
    </section>
  );
}

function AuditFilters({
  values,
  set,
  errors,
}: {
  values: Record<(typeof FILTERS)[number], string>;
  set: (key: (typeof FILTERS)[number], value: string) => void;
  errors: Record<(typeof FILTERS)[number], string | undefined>;
}) {
  const [objectId, setObjectId] = useState(values.object_id);
  const [idProblem, setIdProblem] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const value = objectId.trim();
    if (value && !/^\d{1,15}$/.test(value)) {
      setIdProblem("An id is a whole number, e.g. 12.");
      return;
    }
    setIdProblem("");
    set("object_id", value);
  };
  const idMessage = idProblem || errors.object_id;
  const known = values.object_type === "" || values.object_type in OBJECT_TYPES;
  return (
    <div className="filters" role="search" aria-label="Filter the audit log">
      <div>
        <label htmlFor="audit-type">Object type</label>
        <select
          id="audit-type"
          value={values.object_type}
          onChange={(e) => set("object_type", e.target.value)}
          aria-describedby={errors.object_type ? "audit-type-error" : undefined}
        >
          <option value="">Any type</option>
          <LabelOptions labels={OBJECT_TYPES} />
          {!known && <option value={values.object_type}>{values.object_type}</option>}
        </select>
        <FieldError id="audit-type-error" message={errors.object_type} />
      </div>
      <form onSubmit={submit}>
        <label htmlFor="audit-object-id">Object id</label>
        <div className="audit-id-row">
          <input
            id="audit-object-id"
            inputMode="numeric"
            value={objectId}
            onChange={(e) => setObjectId(e.target.value)}
            aria-invalid={idMessage ? true : undefined}
            aria-describedby={idMessage ? "audit-object-id-error" : undefined}
          />
          <button type="submit">Show</button>
        </div>
        <FieldError id="audit-object-id-error" message={idMessage} />
      </form>
    </div>
  );
}

/** "created_by_id" -> "created by", "assignee_id" -> "assignee". */
function fieldLabel(field: string): string {
  return field.replace(/_id$/, "").replace(/_/g, " ");
}

function AuditEntry({ event }: { event: AuditEvent }) {
  const name = usePeople();
  const list = changes(event, name);
  const type = OBJECT_TYPES[event.object_type] ?? event.object_type;
  return (
    <li className="audit-entry panel" data-testid="audit-entry">
      <p className="audit-head">
        <strong>{operationLabel(event.operation)}</strong> {type}
        {event.object_id != null ? ` #${event.object_id}` : ""}
        <span className="audit-by">
          {" "}
          by <span className="audit-actor">{event.actor_id == null ? "the system" : name(event.actor_id)}</span>
        </span>
        <span className="muted"> · {when(event.created_at)}</span>
      </p>
      {list.length === 0 ? (
        <p className="muted">No field changed that is shown here.</p>
      ) : (
        <ul className="audit-changes" aria-label="What changed">
          {list.map((c) => (
            <li key={c.field}>
              <span className="audit-field">{fieldLabel(c.field)}</span>:{" "}
              {c.before !== undefined && c.after !== undefined ? (
                <>
                  <del>{c.before}</del> → <ins>{c.after}</ins>
                </>
              ) : c.after !== undefined ? (
                <ins>{c.after}</ins>
              ) : (
                <del>{c.before}</del>
              )}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}
