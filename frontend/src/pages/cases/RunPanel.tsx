// One run on a case, step by step (GET /api/runs/{id}/), refetched while it is active; cancel
// (SUPERVISOR, ADMIN) and retry (ADMIN) where the role and the run's state allow them.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";

import { api, unwrap, type Schemas } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { ErrorMessage, ErrorState, Loading } from "../../components/States";
import { when } from "../../components/time";
import { usePeople } from "../audit/people";
import { lastStepChange, transitions, type Transition } from "./history";
import { ACTIONS, FORM_ACTIONS, RUN_STATUSES, STEP_STATUSES, isActiveRun } from "./labels";
import { StepResult } from "./StepResult";

export type RunDetail = Schemas["RunDetail"];
type RunStep = Schemas["RunStep"];

/** How often an active run is asked for again. */
export const POLL_MS = 3000;

const canRetry = (role: Schemas["RoleEnum"]) => role === "ADMIN";
const FINISHED_STEPS = new Set<RunStep["status"]>(["completed", "rejected", "failed"]);

export function runQueryOptions(runId: number) {
  return {
    queryKey: ["run", runId] as const,
    queryFn: () => unwrap(api.GET("/api/runs/{id}/", { params: { path: { id: runId } } })),
  };
}

export function RunPanel({ runId, caseId }: { runId: number; caseId: number }) {
  const run = useQuery({
    ...runQueryOptions(runId),
    refetchInterval: (query) => (query.state.data && isActiveRun(query.state.data.status) ? POLL_MS : false),
  });
  if (run.isPending) return <Loading what="the run" />;
  if (run.isError) return <ErrorState error={run.error} />;
  return <RunView run={run.data} caseId={caseId} />;
}

function RunView({ run, caseId }: { run: RunDetail; caseId: number }) {
  const me = useMe();
  const history = transitions(run.history);
  const headingId = `run-${run.id}-title`;
  const steps = [...run.steps].sort((a, b) => a.order - b.order || a.id - b.id);
  return (
    <article className="panel run" aria-labelledby={headingId}>
      <div className="run-header">
        <h3 id={headingId}>
          {run.workflow_name} <span className="muted">(run {run.sequence})</span>
        </h3>
        <span className={`badge badge-${run.status}`}>{RUN_STATUSES[run.status]}</span>
        <span className="muted">
          {run.started_at ? `Started ${when(run.started_at)}` : "Not started"}
          {run.finished_at ? ` · finished ${when(run.finished_at)}` : ""}
        </span>
      </div>
      {isActiveRun(run.status) && (
        <p className="muted" role="status">
          This run is in progress; the page follows it.
        </p>
      )}
      <ol className="steps" aria-label={`Steps of ${run.workflow_name}`}>
        {steps.map((step, index) => (
          <StepItem key={step.id} step={step} index={index} change={lastStepChange(history, step.id)} />
        ))}
      </ol>
      {can.cancel(me.role) && isActiveRun(run.status) && <CancelRun run={run} caseId={caseId} />}
      {canRetry(me.role) && run.status === "failed" && <RetryRun run={run} caseId={caseId} />}
    </article>
  );
}

function StepItem({ step, index, change }: { step: RunStep; index: number; change: Transition | undefined }) {
  const me = useMe();
  const name = usePeople();
  const finished = FINISHED_STEPS.has(step.status);
  const at = step.finished_at ?? change?.created_at ?? step.started_at;
  return (
    <li className={`step step-${step.status}`} data-testid="run-step">
      <div className="step-title">
        <strong>
          {index + 1}. {step.name}
        </strong>
        <span className="muted">{ACTIONS[step.action] ?? step.action}</span>
        <span className={`badge badge-${step.status}`}>{STEP_STATUSES[step.status]}</span>
      </div>
      {step.status !== "pending" && (
        <p className="step-meta">
          {change && (finished || step.status === "cancelled")
            ? `${STEP_STATUSES[step.status]} by ${change.actor == null ? "the system" : name(change.actor)}`
            : step.started_at
              ? "Started"
              : ""}
          {at ? ` · ${when(at)}` : ""}
          {step.attempts > 1 ? ` · ${step.attempts} attempts` : ""}
        </p>
      )}
      {change?.comment && step.status !== "failed" && <p className="step-meta">Comment: {change.comment}</p>}
      {step.last_error && <p className="step-meta error-text">Error: {step.last_error}</p>}
      {step.status === "waiting" && FORM_ACTIONS.has(step.action) && can.actOnTasks(me.role) && (
        <p className="step-meta">
          Waiting for its form: <Link to="/inbox">complete it in your inbox</Link>.
        </p>
      )}
      {step.status === "waiting" && FORM_ACTIONS.has(step.action) && !can.actOnTasks(me.role) && (
        <p className="step-meta">Waiting for a person to fill in its form.</p>
      )}
      {finished && can.readAudit(me.role) && <StepResult stepId={step.id} status={step.status} />}
    </li>
  );
}

function useRunWrite(run: RunDetail, caseId: number, send: () => Promise<RunDetail>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: send,
    onSuccess: (updated) => {
      client.setQueryData(["run", run.id], updated);
      void client.invalidateQueries({ queryKey: ["case", caseId] });
    },
    onError: () => void client.invalidateQueries({ queryKey: ["run", run.id] }),
  });
}

function CancelRun({ run, caseId }: { run: RunDetail; caseId: number }) {
  const [comment, setComment] = useState("");
  const cancel = useRunWrite(run, caseId, () =>
    unwrap(api.POST("/api/runs/{id}/cancel/", { params: { path: { id: run.id } }, body: { comment } })),
  );
  const inputId = `run-${run.id}-cancel-reason`;
  return (
    <form
      className="run-actions"
      onSubmit={(event) => {
        event.preventDefault();
        cancel.mutate();
      }}
    >
      <div>
        <label htmlFor={inputId}>Reason for cancelling (optional)</label>
        <input id={inputId} value={comment} onChange={(e) => setComment(e.target.value)} maxLength={5000} />
      </div>
      <button type="submit" className="danger" disabled={cancel.isPending}>
        {cancel.isPending ? "Cancelling…" : "Cancel this run"}
      </button>
      <ErrorMessage error={cancel.error} />
    </form>
  );
}

function RetryRun({ run, caseId }: { run: RunDetail; caseId: number }) {
  const retry = useRunWrite(run, caseId, () =>
    unwrap(api.POST("/api/runs/{id}/retry/", { params: { path: { id: run.id } } })),
  );
  return (
    <div className="run-actions">
      <button type="button" className="primary" disabled={retry.isPending} onClick={() => retry.mutate()}>
        {retry.isPending ? "Retrying…" : "Retry from the failed step"}
      </button>
      <ErrorMessage error={retry.error} />
    </div>
  );
}
