// The signed-in user's pending tasks, newest first (GET /api/tasks/), with their decisions.
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { Link } from "react-router";

import { ApiError, api, unwrap, type Schemas } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { LabelOptions } from "../../components/LabelOptions";
import { Pagination, useFilters, usePage } from "../../components/Pagination";
import { Empty, ErrorState, QueryView } from "../../components/States";
import { ACTION_WORDS } from "./forms";
import { describeSubject } from "./subject";
import { TaskCard, type Decision } from "./TaskCard";
import "./inbox.css";

type Task = Schemas["Task"];
type TaskPage = Schemas["PaginatedTaskList"];

export const INBOX_PAGE_SIZE = 20;
const FILTERS = ["subject_type", "action"] as const;

const DONE_WORDS: Record<Decision, string> = {
  approve: "You approved",
  reject: "You rejected",
  complete: "You completed",
};

type Feedback = { kind: "done" | "conflict"; text: string } | null;

export function InboxPage() {
  const me = useMe();
  const page = usePage();
  const [filters, setFilter] = useFilters(FILTERS);
  const client = useQueryClient();
  const [feedback, setFeedback] = useState<Feedback>(null);
  const key = ["tasks", "inbox", { page, ...filters }] as const;
  const tasks = useQuery({
    queryKey: key,
    queryFn: () =>
      unwrap(
        api.GET("/api/tasks/", {
          params: {
            query: {
              page,
              page_size: INBOX_PAGE_SIZE,
              ...(filters.subject_type ? { subject_type: filters.subject_type } : {}),
              ...(filters.action ? { action: filters.action } : {}),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  /** A decided task leaves the list at once; then the list, and what the task was about, reload. */
  function refresh(task: Task) {
    const subject = describeSubject(task);
    void client.invalidateQueries({ queryKey: ["tasks"] });
    if (subject.kind === "Transfer") void client.invalidateQueries({ queryKey: ["transfers"] });
    if (subject.kind === "Case") void client.invalidateQueries({ queryKey: ["cases"] });
  }

  function onDecided(task: Task, decision: Decision) {
    client.setQueryData<TaskPage>(key, (old) =>
      old
        ? { ...old, count: Math.max(0, old.count - 1), results: old.results.filter((t) => t.id !== task.id) }
        : old,
    );
    setFeedback({ kind: "done", text: `${DONE_WORDS[decision]} “${task.name}” on ${describeSubject(task).title}.` });
    refresh(task);
  }

  function onConflict(task: Task, error: ApiError) {
    setFeedback({
      kind: "conflict",
      text: `${describeSubject(task).title}, “${task.name}”: your decision was not recorded. ${error.summary}`,
    });
    refresh(task);
  }

  const mayAct = can.actOnTasks(me.role);
  const filtered = Boolean(filters.subject_type || filters.action);
  return (
    <section>
      <h1>Inbox</h1>
      <p className="muted">Tasks waiting for you, newest first.</p>
      <div aria-live="polite" className="inbox-feedback">
        {feedback?.kind === "done" && <p className="notice">{feedback.text}</p>}
      </div>
      {feedback?.kind === "conflict" && (
        <div className="state-error inbox-conflict" role="alert">
          <strong>Someone was faster.</strong> <span>{feedback.text}</span>
        </div>
      )}
      {!mayAct && (
        <p className="muted">Your role ({me.role}) may read these tasks but not decide them.</p>
      )}
      <form className="filters" aria-label="Filter tasks" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="inbox-subject-type">About</label>
          <select
            id="inbox-subject-type"
            value={filters.subject_type}
            onChange={(e) => setFilter("subject_type", e.target.value)}
          >
            <option value="">Transfers and cases</option>
            <option value="transfer">Transfers</option>
            <option value="case">Cases</option>
          </select>
        </div>
        <div>
          <label htmlFor="inbox-action">Kind of step</label>
          <select id="inbox-action" value={filters.action} onChange={(e) => setFilter("action", e.target.value)}>
            <option value="">Every kind</option>
            <LabelOptions labels={ACTION_WORDS} />
          </select>
        </div>
      </form>
      <QueryView
        query={tasks}
        what="your tasks"
        error={(error) =>
          error instanceof ApiError && error.status === 404 && page > 1 ? (
            // Decisions emptied this page: the API has no page past the end.
            <Empty>
              This page is empty now. <Link to="/inbox">Go to the first page</Link>.
            </Empty>
          ) : (
            <ErrorState error={error} />
          )
        }
        isEmpty={(data) => data.results.length === 0}
        empty={
          filtered
            ? "No pending task matches these filters."
            : "Nothing is waiting for you. Tasks appear here when a workflow reaches a step you may decide."
        }
      >
        {(data) => (
          <>
            <ul className="inbox-list" aria-label="Pending tasks">
              {data.results.map((task) => (
                <TaskCard key={task.id} task={task} mayAct={mayAct} onDecided={onDecided} onConflict={onConflict} />
              ))}
            </ul>
            <Pagination count={data.count} pageSize={INBOX_PAGE_SIZE} label="Tasks" />
          </>
        )}
      </QueryView>
    </section>
  );
}
