// A transfer's approval chain as a timeline: each workflow in execution order, where it stands,
// who decided what, when and why, and which workflows never started after a rejection.
import type { Schemas } from "../api/client";
import { when } from "./time";
import "./Timeline.css";

type ChainItem = Schemas["ChainItem"];
type Decision = Schemas["ChainDecision"];

/** A person's name for a user id (null: the user is gone). */
export type NameOf = (userId: number | null) => string;

const defaultNameOf: NameOf = (id) => (id == null ? "a removed user" : `user #${id}`);

const STOPS = new Set(["rejected", "cancelled"]);

const DECISION_WORDS: Record<string, string> = {
  approve: "Approved",
  reject: "Rejected",
  complete: "Completed",
};

/** Words for a run's status; a run that did not start is explained by what came before it. */
export function chainStatusWords(item: ChainItem, stoppedEarlier: boolean): string {
  if (!item.started_at || item.status === "not_started") {
    if (item.status === "cancelled") return "Never started (cancelled)";
    return stoppedEarlier ? "Never started" : "Not started yet";
  }
  switch (item.status) {
    case "running":
      return "Running";
    case "completed":
      return "Approved";
    case "rejected":
      return "Rejected";
    case "cancelled":
      return "Cancelled";
    case "failed":
      return "Failed";
    default:
      return item.status;
  }
}

function badgeClass(item: ChainItem): string {
  if (!item.started_at) return "badge badge-not_started";
  return `badge badge-${item.status}`;
}

export function Timeline({
  chain,
  nameOf = defaultNameOf,
  label = "Approval chain",
}: {
  chain: ChainItem[];
  nameOf?: NameOf;
  label?: string;
}) {
  if (chain.length === 0) return <p className="state state-empty">No workflow in this chain.</p>;
  const ordered = [...chain].sort((a, b) => a.execution_order - b.execution_order || a.id - b.id);
  // A rejection or a cancel stops the chain: what comes after it never starts.
  const stopsAt = ordered.findIndex((item) => STOPS.has(item.status));
  return (
    <ol className="timeline" aria-label={label}>
      {ordered.map((item, index) => {
        const words = chainStatusWords(item, stopsAt >= 0 && index > stopsAt);
        return (
          <li key={item.id} className={`timeline-item timeline-${item.started_at ? item.status : "not_started"}`}>
            <span className="timeline-marker" aria-hidden="true">
              {index + 1}
            </span>
            <div className="timeline-body">
              <h3 className="timeline-title">
                <span className="visually-hidden">Workflow {index + 1}: </span>
                {item.workflow_template_name}
                {item.workflow_template_code && (
                  <span className="muted timeline-code"> ({item.workflow_template_code})</span>
                )}
              </h3>
              <p className="timeline-status">
                <span className={badgeClass(item)}>{words}</span>
                {item.status === "running" && item.current_step && (
                  <span>
                    {" "}
                    at step <strong>{item.current_step.name}</strong>
                  </span>
                )}
              </p>
              <TimelineTimes item={item} />
              {item.decisions.length > 0 && (
                <ul className="timeline-decisions" aria-label={`Decisions in ${item.workflow_template_name}`}>
                  {item.decisions.map((decision, i) => (
                    <DecisionRow key={`${decision.step}-${i}`} decision={decision} nameOf={nameOf} />
                  ))}
                </ul>
              )}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

function TimelineTimes({ item }: { item: ChainItem }) {
  if (!item.started_at) return null;
  return (
    <p className="timeline-times muted">
      Started {when(item.started_at)}
      {item.finished_at && <> · finished {when(item.finished_at)}</>}
    </p>
  );
}

function DecisionRow({ decision, nameOf }: { decision: Decision; nameOf: NameOf }) {
  const verb = DECISION_WORDS[decision.decision] ?? decision.decision;
  return (
    <li className={`timeline-decision decision-${decision.decision}`}>
      <span>
        <strong>{verb}</strong> by {nameOf(decision.decided_by)}
        {decision.on_behalf_of !== null && <> on behalf of {nameOf(decision.on_behalf_of)}</>} on{" "}
        <time dateTime={decision.decided_at}>{when(decision.decided_at)}</time>
      </span>
      {decision.comment ? (
        <blockquote className="timeline-comment">“{decision.comment}”</blockquote>
      ) : (
        <span className="muted"> (no comment)</span>
      )}
    </li>
  );
}
