// Adds one workflow at the end of a group's chain. The server's messages (already assigned,
// inactive or unknown template, unknown or inactive group, order taken) appear by the field.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId } from "react";
import { useForm } from "react-hook-form";

import { ApiError } from "../../api/client";
import { ErrorMessage, FieldError } from "../States";
import { assignmentsKey, createAssignment, type Assignment, type Workflow } from "./assignmentsApi";

export function AddAssignmentForm({
  groupId,
  assignments,
  workflows,
}: {
  groupId: number;
  assignments: Assignment[];
  workflows: Workflow[];
}) {
  const client = useQueryClient();
  const id = useId();
  const assigned = new Set(assignments.map((a) => a.workflow_template));
  const free = workflows.filter((w) => !assigned.has(w.id));
  const nextOrder = Math.max(0, ...assignments.map((a) => a.execution_order)) + 1;
  const form = useForm<{ workflow: string }>({ defaultValues: { workflow: "" } });
  const add = useMutation({
    mutationFn: (workflowId: number) => createAssignment(groupId, workflowId, nextOrder),
    onSuccess: (created) => {
      client.setQueryData<Assignment[]>(assignmentsKey(groupId), (old) => [...(old ?? []), created]);
      void client.invalidateQueries({ queryKey: assignmentsKey(groupId) });
      form.reset({ workflow: "" });
    },
  });
  const error = add.error instanceof ApiError ? add.error : null;
  const workflowMessage =
    [error?.field("workflow_template"), error?.field("non_field_errors"), error?.field("execution_order")]
      .filter(Boolean)
      .join(" ") ||
    form.formState.errors.workflow?.message ||
    undefined;
  const groupMessage = error?.field("security_group");
  const otherError = add.error && !workflowMessage && !groupMessage ? add.error : null;

  if (free.length === 0 && !add.error) {
    return <p className="muted">Every active workflow is already assigned to this group.</p>;
  }
  return (
    <form
      className="panel"
      aria-labelledby={`${id}-title`}
      onSubmit={form.handleSubmit(({ workflow }) => add.mutate(Number(workflow)))}
      noValidate
    >
      <h3 id={`${id}-title`}>Add a workflow</h3>
      <FieldError id={`${id}-group`} message={groupMessage ? `Security group: ${groupMessage}` : undefined} />
      <div className="inline">
        <div>
          <label htmlFor={`${id}-workflow`}>Workflow</label>
          <select
            id={`${id}-workflow`}
            aria-invalid={workflowMessage ? true : undefined}
            aria-describedby={workflowMessage ? `${id}-workflow-error` : undefined}
            {...form.register("workflow", { required: "Choose a workflow to add." })}
          >
            <option value="">Choose a workflow…</option>
            {free.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
                {w.code ? ` (${w.code})` : ""}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="primary" disabled={add.isPending}>
          {add.isPending ? "Adding…" : "Add at the end"}
        </button>
      </div>
      <FieldError id={`${id}-workflow-error`} message={workflowMessage} />
      <ErrorMessage error={otherError} />
    </form>
  );
}
