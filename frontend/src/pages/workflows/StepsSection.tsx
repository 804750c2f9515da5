// A workflow's steps: listed by order; for an ADMIN also added, edited, deleted and reordered
// (drag and drop, keyboard, or Move buttons, via SortableList). See reorder.ts for how a new
// order is written without ever colliding with the per-workflow unique `order`.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";

import { ApiError, api, unwrap } from "../../api/client";
import { describeConfig, type Action } from "../../components/actionConfigFields";
import { SortableList } from "../../components/SortableList";
import { StepConfigForm, type StepDraft } from "../../components/StepConfigForm";
import { useSecurityGroups } from "../../components/stepConfigQueries";
import { Empty, ErrorMessage, ErrorState, Loading } from "../../components/States";
import { STEPS_PAGE_SIZE, keys, useActions, useSteps, type Step, type Workflow } from "./queries";
import { finalOrders, persistOrder, planReorder } from "./reorder";

interface Props {
  workflow: Workflow;
  editable: boolean;
  tenantId: number | null;
  canReadUsers: boolean;
}

export function StepsSection({ workflow, editable, tenantId, canReadUsers }: Props) {
  const steps = useSteps(workflow.id);
  const actions = useActions();
  const groups = useSecurityGroups();
  const client = useQueryClient();
  const [editing, setEditing] = useState<number | null>(null);
  const [confirming, setConfirming] = useState<number | null>(null);
  const [status, setStatus] = useState("");
  const [addKey, setAddKey] = useState(0);

  const refresh = () => {
    void client.invalidateQueries({ queryKey: keys.steps(workflow.id) });
    void client.invalidateQueries({ queryKey: keys.workflow(workflow.id) });
    void client.invalidateQueries({ queryKey: keys.workflows });
  };
  const reorderKey = ["reorder-steps", workflow.id];

  const reorder = useMutation({
    mutationKey: reorderKey,
    // Reorders of one workflow run one after another: each plans from the order the previous
    // one leaves.
    scope: { id: `reorder-steps-${workflow.id}` },
    mutationFn: ({ current, next }: { current: Step[]; next: Step[] }) =>
      persistOrder(planReorder(current, next), ({ id, order }) =>
        unwrap(
          api.PATCH("/api/workflows/{workflow_id}/steps/{id}/", {
            params: { path: { workflow_id: workflow.id, id } },
            body: { order },
          }),
        ),
      ),
    onMutate: async ({ current, next }) => {
      setStatus("Saving the new order…");
      await client.cancelQueries({ queryKey: keys.steps(workflow.id) });
      const final = finalOrders(current, next);
      client.setQueryData(keys.steps(workflow.id), (old: typeof steps.data) =>
        old ? { ...old, results: next.map((s) => ({ ...s, order: final.get(s.id) ?? s.order })) } : old,
      );
    },
    onSuccess: () => setStatus("Order saved."),
    onError: () => setStatus(""),
    onSettled: () => {
      // The last reorder in the queue reloads; earlier ones would flash an unfinished order.
      if (client.isMutating({ mutationKey: reorderKey }) <= 1) refresh();
    },
  });

  const add = useMutation({
    mutationFn: (draft: StepDraft) => {
      const list = steps.data?.results ?? [];
      const order = list.length ? Math.max(...list.map((s) => s.order)) + 1 : 0;
      return unwrap(
        api.POST("/api/workflows/{workflow_id}/steps/", {
          params: { path: { workflow_id: workflow.id } },
          body: { ...draft, order },
        }),
      );
    },
    onSuccess: (step) => {
      setStatus(`Step “${step.name}” added.`);
      setAddKey((k) => k + 1);
      refresh();
    },
  });

  const update = useMutation({
    mutationFn: ({ id, draft }: { id: number; draft: StepDraft }) =>
      unwrap(
        api.PATCH("/api/workflows/{workflow_id}/steps/{id}/", {
          params: { path: { workflow_id: workflow.id, id } },
          body: draft,
        }),
      ),
    onSuccess: (step) => {
      setStatus(`Step “${step.name}” saved.`);
      setEditing(null);
      refresh();
    },
  });

  const remove = useMutation({
    mutationFn: (step: Step) =>
      unwrap(
        api.DELETE("/api/workflows/{workflow_id}/steps/{id}/", {
          params: { path: { workflow_id: workflow.id, id: step.id } },
        }),
      ),
    onSuccess: (_, step) => {
      setStatus(`Step “${step.name}” deleted.`);
      setConfirming(null);
      if (editing === step.id) setEditing(null);
      refresh();
    },
  });

  const editPanel = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (editing !== null) editPanel.current?.focus();
  }, [editing]);

  if (steps.isPending || actions.isPending) return <Loading what="the steps" />;
  if (steps.isError) return <ErrorState error={steps.error} />;
  if (actions.isError) return <ErrorState error={actions.error} />;

  const list = steps.data.results;
  const actionList: Action[] = actions.data;
  const actionLabel = (key: string) => actionList.find((a) => a.key === key)?.label ?? key;
  const groupName = (id: number) =>
    groups.data?.security_groups.find((g) => g.id === id)?.name ?? `#${id}`;
  const editingStep = list.find((s) => s.id === editing);

  return (
    <section aria-labelledby="steps-heading" className="steps">
      <h2 id="steps-heading">Steps</h2>
      {steps.data.count > list.length && (
        <p className="muted">
          Showing the first {STEPS_PAGE_SIZE} of {steps.data.count} steps.
        </p>
      )}
      {reorder.isError && (
        <div className="error-message" role="alert">
          The new order could not be saved completely: {errorWords(reorder.error)} The list now shows
          the order as saved.
        </div>
      )}
      {list.length === 0 ? (
        <Empty>
          This workflow has no steps yet.{editable ? " Add the first one below." : ""}
        </Empty>
      ) : (
        <>
          {editable && (
            <p className="muted" id="steps-reorder-help">
              Drag a step by its handle, or focus the handle and press Space, the arrow keys, then
              Space; or use the Move buttons.
            </p>
          )}
          <SortableList
            items={list}
            getId={(s) => s.id}
            getLabel={(s) => s.name}
            label={`Steps of ${workflow.name}, in the order they run`}
            disabled={!editable}
            onReorder={(next) => reorder.mutate({ current: list, next })}
            renderItem={(step, index) => (
              <StepRow
                step={step}
                index={index}
                actionLabel={actionLabel(step.action)}
                summary={describeConfig(step.action, step.config, groupName)}
                editable={editable}
                confirming={confirming === step.id}
                deleting={remove.isPending && remove.variables?.id === step.id}
                deleteError={remove.variables?.id === step.id ? remove.error : null}
                onEdit={() => {
                  update.reset();
                  setConfirming(null);
                  setEditing(step.id);
                }}
                onDelete={() => {
                  remove.reset();
                  setConfirming(step.id);
                }}
                onConfirm={() => remove.mutate(step)}
                onKeep={() => setConfirming(null)}
              />
            )}
          />
        </>
      )}

      <p className="muted step-status" role="status" aria-live="polite">
        {status}
      </p>
      {editable && editingStep && (
        <div className="panel step-panel">
          <h3 ref={editPanel} tabIndex={-1}>
            Edit step “{editingStep.name}”
          </h3>
          <StepConfigForm
            key={editingStep.id}
            title={`Edit step ${editingStep.name}`}
            actions={actionList}
            initial={editingStep}
            onSubmit={(draft) => update.mutateAsync({ id: editingStep.id, draft }).catch(() => undefined)}
            error={update.error}
            pending={update.isPending}
            submitLabel="Save step"
            onCancel={() => setEditing(null)}
            tenantId={tenantId}
            canReadUsers={canReadUsers}
          />
        </div>
      )}
      {editable && !editingStep && (
        <div className="panel step-panel">
          <h3>Add a step</h3>
          <StepConfigForm
            key={addKey}
            title="Add a step"
            actions={actionList}
            onSubmit={(draft) => add.mutateAsync(draft).catch(() => undefined)}
            error={add.error}
            pending={add.isPending}
            submitLabel="Add step"
            tenantId={tenantId}
            canReadUsers={canReadUsers}
          />
        </div>
      )}
    </section>
  );
}

function errorWords(error: unknown): string {
  if (!(error instanceof ApiError)) return "the server could not be reached.";
  const messages = Object.values(error.fields).flat();
  return messages.length ? messages.join(" ") : error.summary;
}

function StepRow({
  step,
  index,
  actionLabel,
  summary,
  editable,
  confirming,
  deleting,
  deleteError,
  onEdit,
  onDelete,
  onConfirm,
  onKeep,
}: {
  step: Step;
  index: number;
  actionLabel: string;
  summary: string;
  editable: boolean;
  confirming: boolean;
  deleting: boolean;
  deleteError: unknown;
  onEdit: () => void;
  onDelete: () => void;
  onConfirm: () => void;
  onKeep: () => void;
}) {
  return (
    <div className="step-row" data-testid="step-row">
      <div className="step-text">
        <span className="step-title">
          <span className="step-number">{index + 1}.</span> {step.name}{" "}
          <span className="badge step-action">{actionLabel}</span>
        </span>
        <span className="muted step-summary">{summary}</span>
      </div>
      {editable && !confirming && (
        <div className="step-buttons">
          <button type="button" onClick={onEdit} aria-label={`Edit ${step.name}`}>
            Edit
          </button>
          <button type="button" onClick={onDelete} aria-label={`Delete ${step.name}`}>
            Delete
          </button>
        </div>
      )}
      {editable && confirming && (
        <div className="step-confirm" role="group" aria-label={`Delete ${step.name}?`}>
          <span>Delete this step? Runs already started keep it.</span>
          <button type="button" className="danger" onClick={onConfirm} disabled={deleting}>
            {deleting ? "Deleting…" : "Delete step"}
          </button>
          <button type="button" onClick={onKeep}>
            Keep it
          </button>
          <ErrorMessage error={deleteError} />
        </div>
      )}
    </div>
  );
}
