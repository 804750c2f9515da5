// A transfer's facts and its approval chain as a timeline; approve, reject or cancel it.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { Link, useParams } from "react-router";

import { ApiError, api, unwrap, type Schemas } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { ErrorMessage, ErrorState, FieldError, Loading } from "../../components/States";
import { Timeline } from "../../components/Timeline";
import { when } from "../../components/time";
import { usePeople } from "./people";
import { TRANSFER_STATUS, amountText } from "./words";
import "./transfers.css";

type Transfer = Schemas["Transfer"];
type Envelope = Schemas["TransferEnvelope"];
type Command = "approve" | "reject" | "cancel";

export function TransferDetailPage() {
  const params = useParams();
  const id = Number(params.id);
  const valid = Number.isInteger(id) && id > 0;
  const transfer = useQuery({
    queryKey: ["transfers", "detail", id],
    queryFn: () => unwrap(api.GET("/api/approvals/transfers/{id}/", { params: { path: { id } } })),
    enabled: valid,
  });
  if (!valid) return <NotFound />;
  if (transfer.isPending) return <Loading what="the transfer" />;
  if (transfer.isError) {
    return (
      <section>
        <h1>Transfer</h1>
        <ErrorState error={transfer.error} />
        <Link to="/transfers">Back to transfers</Link>
      </section>
    );
  }
  return <TransferView transfer={transfer.data.transfer} />;
}

function NotFound() {
  return (
    <section>
      <h1>Transfer</h1>
      <ErrorState error={new ApiError(404, null)} />
      <Link to="/transfers">Back to transfers</Link>
    </section>
  );
}

function TransferView({ transfer }: { transfer: Transfer }) {
  const nameOf = usePeople(transfer.security_group);
  return (
    <section>
      <p>
        <Link to="/transfers">← Transfers</Link>
      </p>
      <h1>
        Transfer {transfer.reference}{" "}
        <span className={`badge badge-${transfer.status}`}>{TRANSFER_STATUS[transfer.status]}</span>
      </h1>
      <div className="transfer-layout">
        <div>
          <div className="panel">
            <h2>Details</h2>
            <dl className="transfer-facts">
              <dt>Amount</dt>
              <dd>{amountText(transfer)}</dd>
              <dt>Type</dt>
              <dd>{transfer.transfer_type}</dd>
              <dt>Security group</dt>
              <dd>{transfer.security_group_name}</dd>
              <dt>Status</dt>
              <dd>{TRANSFER_STATUS[transfer.status]}</dd>
              <dt>Created</dt>
              <dd>
                {when(transfer.created_at)} by {nameOf(transfer.created_by)}
              </dd>
              {transfer.finished_at && (
                <>
                  <dt>Finished</dt>
                  <dd>{when(transfer.finished_at)}</dd>
                </>
              )}
              <dt>Description</dt>
              <dd>{transfer.description || <span className="muted">None</span>}</dd>
            </dl>
          </div>
          <TransferActions transfer={transfer} />
        </div>
        <div className="panel">
          <h2>Approval chain</h2>
          <Timeline chain={transfer.chain} nameOf={nameOf} />
        </div>
      </div>
    </section>
  );
}

/** Whether an approval task of this transfer awaits the signed-in user (their inbox says). */
function useAwaitsMe(transfer: Transfer, enabled: boolean): "yes" | "no" | "unknown" {
  const tasks = useQuery({
    queryKey: ["tasks", "transfer-approvals"],
    queryFn: () =>
      unwrap(
        api.GET("/api/tasks/", {
          params: { query: { subject_type: "transfer", action: "approval", page_size: 200 } },
        }),
      ),
    enabled,
  });
  if (!enabled) return "no";
  if (!tasks.data) return "unknown";
  if (tasks.data.results.some((task) => task.subject["id"] === transfer.id)) return "yes";
  // More than one page of tasks: let the server decide (403 if not eligible).
  return tasks.data.next ? "unknown" : "no";
}

function send(id: number, command: Command, comment: string) {
  const options = { params: { path: { id } }, body: { comment } };
  if (command === "approve") return unwrap(api.POST("/api/approvals/transfers/{id}/approve/", options));
  if (command === "reject") return unwrap(api.POST("/api/approvals/transfers/{id}/reject/", options));
  return unwrap(api.POST("/api/approvals/transfers/{id}/cancel/", options));
}

interface Feedback {
  onMessage: (text: string) => void;
  onConflict: (text: string) => void;
}

function useCommand(transfer: Transfer, { onMessage, onConflict }: Feedback) {
  const client = useQueryClient();
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ["transfers"] });
    void client.invalidateQueries({ queryKey: ["tasks"] });
  };
  return useMutation({
    mutationFn: ({ command, comment }: { command: Command; comment: string }) =>
      send(transfer.id, command, comment),
    onSuccess: (data) => {
      client.setQueryData<Envelope>(["transfers", "detail", transfer.id], {
        success: true,
        transfer: data.transfer,
      });
      onConflict("");
      onMessage(`${data.message}.`);
      refresh();
    },
    onError: (error) => {
      // Someone was faster: show the latest state under the explanation.
      if (error instanceof ApiError && error.status === 409) {
        onMessage("");
        onConflict(error.summary);
        refresh();
      }
    },
  });
}

function TransferActions({ transfer }: { transfer: Transfer }) {
  const me = useMe();
  const [message, setMessage] = useState("");
  const [conflict, setConflict] = useState("");
  const feedback = { onMessage: setMessage, onConflict: setConflict };
  const pending = transfer.status === "pending";
  const mayDecide = pending && can.actOnTasks(me.role);
  const awaits = useAwaitsMe(transfer, mayDecide);
  const mayCancel =
    pending && me.role !== "VIEWER" && (can.cancel(me.role) || transfer.created_by === me.id);
  return (
    <>
      <div aria-live="polite">{message && <p className="notice">{message}</p>}</div>
      {conflict && (
        <div className="state-error panel" role="alert">
          <strong>Not recorded: someone was faster.</strong> <span>{conflict}</span>
        </div>
      )}
      {mayDecide && awaits !== "no" && <DecisionForm transfer={transfer} feedback={feedback} />}
      {mayDecide && awaits === "no" && (
        <p className="muted">Nothing on this transfer is waiting for your decision.</p>
      )}
      {mayCancel && <CancelForm transfer={transfer} feedback={feedback} />}
    </>
  );
}

function DecisionForm({ transfer, feedback }: { transfer: Transfer; feedback: Feedback }) {
  const { register, handleSubmit, setError, reset, formState } = useForm<{ comment: string }>({
    defaultValues: { comment: "" },
  });
  const command = useCommand(transfer, {
    ...feedback,
    onMessage: (text) => {
      if (text) reset();
      feedback.onMessage(text);
    },
  });
  const apiError = command.error instanceof ApiError && command.error.status !== 409 ? command.error : null;
  const fieldMessage = formState.errors.comment?.message ?? apiError?.field("comment");
  const approve = handleSubmit(({ comment }) => command.mutate({ command: "approve", comment }));
  const reject = handleSubmit(({ comment }) => {
    if (!comment.trim()) {
      setError("comment", { message: "Write a comment: a rejection needs a reason." });
      return;
    }
    command.mutate({ command: "reject", comment });
  });
  return (
    <form className="panel" onSubmit={approve} noValidate aria-labelledby="decide-heading">
      <h2 id="decide-heading">Your decision</h2>
      <label htmlFor="decision-comment">Comment (required to reject)</label>
      <textarea
        id="decision-comment"
        {...register("comment", { maxLength: { value: 5000, message: "At most 5000 characters." } })}
        aria-invalid={fieldMessage ? true : undefined}
        aria-describedby={fieldMessage ? "decision-comment-error" : undefined}
      />
      <FieldError id="decision-comment-error" message={fieldMessage} />
      <ErrorMessage error={apiError?.field("comment") ? null : apiError} />
      <div className="actions">
        <button type="submit" className="ok" disabled={command.isPending}>
          Approve
        </button>
        <button type="button" className="danger" disabled={command.isPending} onClick={reject}>
          Reject
        </button>
      </div>
    </form>
  );
}

function CancelForm({ transfer, feedback }: { transfer: Transfer; feedback: Feedback }) {
  const { register, handleSubmit } = useForm<{ comment: string }>({ defaultValues: { comment: "" } });
  const command = useCommand(transfer, feedback);
  const apiError = command.error instanceof ApiError && command.error.status !== 409 ? command.error : null;
  return (
    <details className="panel cancel-box">
      <summary>Cancel this transfer</summary>
      <form onSubmit={handleSubmit(({ comment }) => command.mutate({ command: "cancel", comment }))} noValidate>
        <p className="muted">Its running workflow and the ones not started yet stop for good.</p>
        <label htmlFor="cancel-comment">Reason (optional)</label>
        <textarea
          id="cancel-comment"
          {...register("comment")}
          aria-describedby={apiError?.field("comment") ? "cancel-comment-error" : undefined}
        />
        <FieldError id="cancel-comment-error" message={apiError?.field("comment")} />
        <ErrorMessage error={apiError?.field("comment") ? null : apiError} />
        <div className="actions">
          <button type="submit" className="danger" disabled={command.isPending}>
            Cancel transfer
          </button>
        </div>
      </form>
    </details>
  );
}
