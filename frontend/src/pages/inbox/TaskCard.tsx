// One pending task in the inbox: what it is about, where it stands, how long it has waited,
// and (for roles that may act) the decision: approve/reject with a comment, or a form.
import { useMutation } from "@tanstack/react-query";
import { useForm } from "react-hook-form";
import { Link } from "react-router";

import { ApiError, api, unwrap, type Schemas } from "../../api/client";
import { ErrorMessage, FieldError } from "../../components/States";
import { waited, when } from "../../components/time";
import { ACTION_WORDS, TASK_FORMS, formData, type FormField } from "./forms";
import { describeSubject } from "./subject";

type Task = Schemas["Task"];
export type Decision = "approve" | "reject" | "complete";

interface DecisionInput {
  decision: Decision;
  comment: string;
  data?: Record<string, unknown>;
}

function sendDecision(id: number, { decision, comment, data }: DecisionInput): Promise<Task> {
  const path = { id };
  if (decision === "approve") {
    return unwrap(api.POST("/api/tasks/{id}/approve/", { params: { path }, body: { comment } }));
  }
  if (decision === "reject") {
    return unwrap(api.POST("/api/tasks/{id}/reject/", { params: { path }, body: { comment } }));
  }
  return unwrap(
    api.POST("/api/tasks/{id}/complete/", { params: { path }, body: { comment, data: data ?? {} } }),
  );
}

function ruleWords(task: Task): string {
  const needed = task.required_approvals;
  const rule =
    task.rule === "all"
      ? "every approver must approve"
      : task.rule === "quorum"
        ? `${needed} approvals needed`
        : "the first decision counts";
  return `Rule: ${rule} (${task.approvals_count} of ${needed} approved so far).`;
}

export function TaskCard({
  task,
  mayAct,
  onDecided,
  onConflict,
}: {
  task: Task;
  mayAct: boolean;
  onDecided: (task: Task, decision: Decision) => void;
  onConflict: (task: Task, error: ApiError) => void;
}) {
  const subject = describeSubject(task);
  const fields = TASK_FORMS[task.action];
  const headingId = `task-${task.id}-title`;
  return (
    <li className="panel inbox-item" aria-labelledby={headingId}>
      <div className="inbox-head">
        <h2 id={headingId} className="inbox-subject">
          {subject.href ? <Link to={subject.href}>{subject.title}</Link> : subject.title}
        </h2>
        {subject.detail && <p className="inbox-detail">{subject.detail}</p>}
      </div>
      <dl className="inbox-facts">
        <div>
          <dt>Workflow</dt>
          <dd>
            {task.workflow.name}
          </dd>
        </div>
        <div>
          <dt>Step</dt>
          <dd>
            {task.name} <span className="muted">({ACTION_WORDS[task.action] ?? task.action})</span>
          </dd>
        </div>
        <div>
          <dt>Waiting for</dt>
          <dd>
            <time dateTime={task.created_at} title={when(task.created_at)}>
              {waited(task.created_at)}
            </time>
          </dd>
        </div>
        {task.due_at && (
          <div>
            <dt>Due</dt>
            <dd>{when(task.due_at)}</dd>
          </div>
        )}
      </dl>
      {task.action === "approval" && <p className="muted inbox-rule">{ruleWords(task)}</p>}
      {mayAct &&
        (task.action === "approval" ? (
          <ApprovalForm task={task} onDecided={onDecided} onConflict={onConflict} />
        ) : fields ? (
          <FormTaskForm task={task} fields={fields} onDecided={onDecided} onConflict={onConflict} />
        ) : (
          <p className="muted">This kind of task cannot be completed from the console.</p>
        ))}
    </li>
  );
}

function useDecision(
  task: Task,
  onDecided: (task: Task, decision: Decision) => void,
  onConflict: (task: Task, error: ApiError) => void,
) {
  return useMutation({
    mutationFn: (input: DecisionInput) => sendDecision(task.id, input),
    onSuccess: (_data, input) => onDecided(task, input.decision),
    onError: (error) => {
      if (error instanceof ApiError && error.status === 409) onConflict(task, error);
    },
  });
}

/** A 409 is told at the page's top (the item leaves the list); other errors stay here. */
function localError(error: unknown): unknown {
  return error instanceof ApiError && error.status === 409 ? null : error;
}

function ApprovalForm({
  task,
  onDecided,
  onConflict,
}: {
  task: Task;
  onDecided: (task: Task, decision: Decision) => void;
  onConflict: (task: Task, error: ApiError) => void;
}) {
  const { register, handleSubmit, setError, formState } = useForm<{ comment: string }>({
    defaultValues: { comment: "" },
  });
  const mutation = useDecision(task, onDecided, onConflict);
  const apiError = mutation.error instanceof ApiError ? mutation.error : null;
  const commentId = `task-${task.id}-comment`;
  const commentError = formState.errors.comment?.message ?? apiError?.field("comment");
  const approve = handleSubmit(({ comment }) => mutation.mutate({ decision: "approve", comment }));
  const reject = handleSubmit(({ comment }) => {
    if (!comment.trim()) {
      setError("comment", { message: "Write a comment: a rejection needs a reason." });
      return;
    }
    mutation.mutate({ decision: "reject", comment });
  });
  return (
    <form className="inbox-decision" onSubmit={approve} noValidate>
      <label htmlFor={commentId}>Comment (required to reject)</label>
      <textarea
        id={commentId}
        {...register("comment", { maxLength: { value: 5000, message: "At most 5000 characters." } })}
        aria-invalid={commentError ? true : undefined}
        aria-describedby={commentError ? `${commentId}-error` : undefined}
      />
      <FieldError id={`${commentId}-error`} message={commentError} />
      <ErrorMessage error={apiError?.field("comment") ? null : localError(apiError)} />
      <div className="actions">
        <button type="submit" className="ok" disabled={mutation.isPending}>
          Approve
        </button>
        <button type="button" className="danger" disabled={mutation.isPending} onClick={reject}>
          Reject
        </button>
        {mutation.isPending && (
          <span role="status" className="muted">
            Sending…
          </span>
        )}
      </div>
    </form>
  );
}

function FormTaskForm({
  task,
  fields,
  onDecided,
  onConflict,
}: {
  task: Task;
  fields: FormField[];
  onDecided: (task: Task, decision: Decision) => void;
  onConflict: (task: Task, error: ApiError) => void;
}) {
  const { register, handleSubmit, formState } = useForm<Record<string, string>>({
    defaultValues: Object.fromEntries([["comment", ""], ...fields.map((f) => [f.name, ""])]),
  });
  const mutation = useDecision(task, onDecided, onConflict);
  const apiError = mutation.error instanceof ApiError ? mutation.error : null;
  const prefix = `task-${task.id}`;
  const complete = handleSubmit((values) =>
    mutation.mutate({ decision: "complete", comment: values.comment ?? "", data: formData(fields, values) }),
  );
  const messageOf = (name: string) =>
    formState.errors[name]?.message ?? apiError?.field(`data.${name}`) ?? apiError?.field(name);
  const shownInFields = [...fields.map((f) => f.name), "comment"].some((n) => messageOf(n));
  return (
    <form className="inbox-decision" onSubmit={complete} noValidate>
      {fields.map((field) => {
        const id = `${prefix}-${field.name}`;
        const message = messageOf(field.name);
        const rules = { required: `Answer “${field.label}”.` };
        if (field.kind === "choice") {
          return (
            <div key={field.name}>
              <label htmlFor={id}>{field.label}</label>
              <select
                id={id}
                {...register(field.name, rules)}
                aria-invalid={message ? true : undefined}
                aria-describedby={message ? `${id}-error` : undefined}
              >
                <option value="">Choose…</option>
                {field.choices.map((choice) => (
                  <option key={choice.value} value={choice.value}>
                    {choice.label}
                  </option>
                ))}
              </select>
              <FieldError id={`${id}-error`} message={message} />
            </div>
          );
        }
        return (
          <fieldset key={field.name} aria-describedby={message ? `${id}-error` : undefined}>
            <legend>{field.label}</legend>
            <label className="inbox-radio">
              <input type="radio" value="true" {...register(field.name, rules)} /> {field.yes}
            </label>
            <label className="inbox-radio">
              <input type="radio" value="false" {...register(field.name, rules)} /> {field.no}
            </label>
            <FieldError id={`${id}-error`} message={message} />
          </fieldset>
        );
      })}
      <label htmlFor={`${prefix}-comment`}>Comment (optional)</label>
      <textarea id={`${prefix}-comment`} {...register("comment")} />
      <FieldError id={`${prefix}-comment-error`} message={messageOf("comment")} />
      <ErrorMessage error={shownInFields ? null : localError(apiError)} />
      <div className="actions">
        <button type="submit" className="primary" disabled={mutation.isPending}>
          Complete
        </button>
      </div>
    </form>
  );
}
