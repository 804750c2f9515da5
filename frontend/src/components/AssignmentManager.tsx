// The approvals seed's "Workflow Assignment Manager", grown up: a security group's workflows in
// execution order, reordered by drag and drop or keyboard (persisted with /reorder/), added,
// removed, switched on and off, or replaced all at once (/bulk-assign/, after a confirmation).
// Only an ADMIN may write: everyone else sees the chain read-only.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";

import { AddAssignmentForm } from "./groups/AddAssignmentForm";
import { ReplaceAllDialog } from "./groups/ReplaceAllDialog";
import {
  activeWorkflowsKey,
  assignmentsKey,
  deleteAssignment,
  fetchActiveWorkflows,
  fetchAssignments,
  reorderAssignments,
  setAssignmentActive,
  type Assignment,
} from "./groups/assignmentsApi";
import { SortableList } from "./SortableList";
import { ErrorMessage, QueryView } from "./States";
import "./groups/groups.css";

export interface AssignmentManagerProps {
  groupId: number;
  groupName: string;
  tenantId: number;
  /** ADMIN only: the API refuses writes from every other role. */
  canEdit: boolean;
}

export function AssignmentManager({ groupId, groupName, tenantId, canEdit }: AssignmentManagerProps) {
  const client = useQueryClient();
  const headingId = useId();
  const [replacing, setReplacing] = useState(false);
  const [saved, setSaved] = useState("");
  const key = assignmentsKey(groupId);
  const assignments = useQuery({ queryKey: key, queryFn: () => fetchAssignments(groupId) });
  const workflows = useQuery({
    queryKey: activeWorkflowsKey(tenantId),
    queryFn: () => fetchActiveWorkflows(tenantId),
    enabled: canEdit,
  });

  const reorder = useMutation({
    mutationFn: (ordered: Assignment[]) => reorderAssignments(groupId, ordered),
    onMutate: async (ordered) => {
      setSaved("");
      await client.cancelQueries({ queryKey: key });
      const previous = client.getQueryData<Assignment[]>(key);
      client.setQueryData<Assignment[]>(
        key,
        ordered.map((a, i) => ({ ...a, execution_order: i + 1 })),
      );
      return { previous };
    },
    onError: (_error, _ordered, context) => {
      if (context?.previous) client.setQueryData(key, context.previous);
    },
    onSuccess: (fresh) => {
      client.setQueryData(key, fresh);
      setSaved("New order saved.");
    },
    onSettled: () => client.invalidateQueries({ queryKey: key }),
  });
  const toggle = useMutation({
    mutationFn: ({ id, active }: { id: number; active: boolean }) => setAssignmentActive(id, active),
    onSuccess: (updated) => {
      client.setQueryData<Assignment[]>(key, (old) => old?.map((a) => (a.id === updated.id ? updated : a)));
      setSaved(`${updated.workflow_template_name} is now ${updated.is_active ? "active" : "inactive"}.`);
    },
  });
  const remove = useMutation({
    mutationFn: (assignment: Assignment) => deleteAssignment(assignment.id),
    onSuccess: (_data, removed) => {
      client.setQueryData<Assignment[]>(key, (old) => old?.filter((a) => a.id !== removed.id));
      setSaved(`Removed ${removed.workflow_template_name}.`);
      void client.invalidateQueries({ queryKey: key });
    },
  });
  const rowError = toggle.error ?? remove.error;

  return (
    <section className="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>Assigned workflows, in execution order</h2>
      <p className="muted">
        When someone in {groupName} files a transfer, the first workflow starts; each next one starts
        when the one before it completes. A rejection stops the chain.
      </p>
      <QueryView
        query={assignments}
        what="assigned workflows"
        isEmpty={(data) => data.length === 0}
        empty={<>No workflow is assigned to {groupName} yet.</>}
      >
        {(data) =>
          canEdit ? (
            <SortableList
              items={data}
              getId={(a) => a.id}
              getLabel={(a) => a.workflow_template_name}
              label={`Workflows of ${groupName}, in execution order`}
              onReorder={(ordered) => reorder.mutate(ordered)}
              renderItem={(a, index) => (
                <AssignmentRow
                  assignment={a}
                  position={index + 1}
                  busy={toggle.isPending || remove.isPending}
                  onToggle={(active) => toggle.mutate({ id: a.id, active })}
                  onRemove={() => remove.mutate(a)}
                />
              )}
            />
          ) : (
            <ol className="assignment-list-plain" aria-label={`Workflows of ${groupName}, in execution order`}>
              {data.map((a, index) => (
                <li key={a.id}>
                  <AssignmentRow assignment={a} position={index + 1} />
                </li>
              ))}
            </ol>
          )
        }
      </QueryView>
      <p role="status" aria-live="polite" className="muted">
        {reorder.isPending ? "Saving the new order…" : saved}
      </p>
      <ErrorMessage error={reorder.error} />
      <ErrorMessage error={rowError} />
      {canEdit && assignments.isSuccess && (
        <>
          <QueryView query={workflows} what="workflows">
            {(data) => (
              <AddAssignmentForm groupId={groupId} assignments={assignments.data} workflows={data} />
            )}
          </QueryView>
          <div className="actions">
            <button type="button" onClick={() => setReplacing(true)} disabled={!workflows.isSuccess}>
              Replace all…
            </button>
          </div>
          {replacing && workflows.isSuccess && (
            <ReplaceAllDialog
              groupId={groupId}
              groupName={groupName}
              assignments={assignments.data}
              workflows={workflows.data}
              onClose={() => setReplacing(false)}
            />
          )}
        </>
      )}
    </section>
  );
}

function AssignmentRow({
  assignment: a,
  position,
  busy = false,
  onToggle,
  onRemove,
}: {
  assignment: Assignment;
  position: number;
  busy?: boolean;
  onToggle?: (active: boolean) => void;
  onRemove?: () => void;
}) {
  return (
    <div className="assignment-row">
      <span className="assignment-order">{position}.</span>
      <span className="assignment-name">{a.workflow_template_name}</span>
      <span className="muted assignment-code">
        {a.workflow_template_code ?? "no code"} · {a.transfer_type}
      </span>
      {onToggle ? (
        <label className="check">
          <input
            type="checkbox"
            checked={a.is_active}
            disabled={busy}
            onChange={(event) => onToggle(event.target.checked)}
            aria-label={`${a.workflow_template_name} active`}
          />
          Active
        </label>
      ) : (
        !a.is_active && <span className="badge badge-not_started">inactive</span>
      )}
      {onRemove && (
        <span className="row-actions">
          <button type="button" onClick={onRemove} disabled={busy} aria-label={`Remove ${a.workflow_template_name}`}>
            Remove
          </button>
        </span>
      )}
    </div>
  );
}
