// /cases/:id: the case's facts, its runs step by step, and starting a workflow on it.
import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";

import { ApiError, api, unwrap, type Schemas } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { Empty, ErrorState, Loading } from "../../components/States";
import { when } from "../../components/time";
import { formatValue } from "../audit/diff";
import { usePeople } from "../audit/people";
import { CASE_STATUSES, PRIORITIES } from "./labels";
import { RunPanel } from "./RunPanel";
import { StartRunForm } from "./StartRunForm";
import "./cases.css";

type CaseDetail = Schemas["CaseDetail"];

export function CaseDetailPage() {
  const { id = "" } = useParams();
  const caseId = /^\d{1,15}$/.test(id) ? Number(id) : null;
  const found = useQuery({
    queryKey: ["case", caseId],
    queryFn: () => unwrap(api.GET("/api/cases/{id}/", { params: { path: { id: caseId ?? 0 } } })),
    enabled: caseId !== null,
  });
  if (caseId === null) {
    return (
      <section>
        <h1>Case</h1>
        <ErrorState error={new ApiError(404, null)} />
        <Link to="/cases">Back to the cases</Link>
      </section>
    );
  }
  if (found.isPending) return <Loading what="the case" />;
  if (found.isError) {
    return (
      <section>
        <h1>Case</h1>
        <ErrorState error={found.error} />
        <Link to="/cases">Back to the cases</Link>
      </section>
    );
  }
  return <CaseView item={found.data} />;
}

function CaseView({ item }: { item: CaseDetail }) {
  const me = useMe();
  const runs = [...item.runs].sort((a, b) => b.sequence - a.sequence);
  return (
    <section>
      <p>
        <Link to="/cases">← All cases</Link>
      </p>
      <h1>
        {item.reference}: {item.title}
      </h1>
      <CaseFacts item={item} />
      {can.createCases(me.role) && item.status !== "closed" && (
        <div className="panel">
          <h2 className="panel-title">Start a workflow on this case</h2>
          <StartRunForm caseId={item.id} />
        </div>
      )}
      <h2>Workflow runs</h2>
      {runs.length === 0 ? (
        <Empty>No workflow has run on this case yet.</Empty>
      ) : (
        runs.map((run) => <RunPanel key={run.id} runId={run.id} caseId={item.id} />)
      )}
    </section>
  );
}

function dataPairs(data: unknown): [string, string][] {
  if (!data || typeof data !== "object" || Array.isArray(data)) return [];
  return Object.entries(data).map(([key, value]) => [key, formatValue(value)]);
}

function CaseFacts({ item }: { item: CaseDetail }) {
  const me = useMe();
  const name = usePeople();
  const extra = dataPairs(item.data);
  return (
    <div className="panel">
      <h2 className="panel-title">Facts</h2>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <span className={`badge badge-${item.status}`}>{CASE_STATUSES[item.status]}</span>
          {item.closed_at ? ` since ${when(item.closed_at)}` : ""}
        </dd>
        <dt>Priority</dt>
        <dd>{PRIORITIES[item.priority]}</dd>
        <dt>Assigned to</dt>
        <dd>{item.assignee_email ?? "Nobody"}</dd>
        <dt>Description</dt>
        <dd>{item.description || <span className="muted">None</span>}</dd>
        <dt>Opened</dt>
        <dd>
          {when(item.created_at)} by {name(item.created_by)}
        </dd>
        <dt>Last changed</dt>
        <dd>
          {when(item.updated_at)} by {name(item.updated_by)}
        </dd>
        {extra.map(([key, value]) => (
          <div key={key} className="facts-row">
            <dt>{key.replace(/_/g, " ")}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {can.readAudit(me.role) && (
        <p>
          <Link to={`/audit?object_type=cases.case&object_id=${item.id}`}>Audit log of this case</Link>
        </p>
      )}
    </div>
  );
}
