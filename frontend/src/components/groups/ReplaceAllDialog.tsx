// "Replace all": the seed's bulk-assign, which deletes every assignment of the group and
// creates the chosen ones. Nothing is sent before the person confirms in this dialog.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useForm, useWatch } from "react-hook-form";

import { ApiError } from "../../api/client";
import { ErrorMessage } from "../States";
import { Dialog } from "./Dialog";
import { assignmentsKey, bulkAssign, type Assignment, type Workflow } from "./assignmentsApi";

export function ReplaceAllDialog({
  groupId,
  groupName,
  assignments,
  workflows,
  onClose,
}: {
  groupId: number;
  groupName: string;
  assignments: Assignment[];
  workflows: Workflow[];
  onClose: () => void;
}) {
  const client = useQueryClient();
  // Current chain first, in its order, then the other active workflows by name.
  const byId = new Map(workflows.map((w) => [w.id, w]));
  const current = assignments.map((a) => byId.get(a.workflow_template)).filter((w): w is Workflow => !!w);
  const others = workflows
    .filter((w) => !assignments.some((a) => a.workflow_template === w.id))
    .sort((a, b) => a.name.localeCompare(b.name));
  const choices = [...current, ...others];
  const form = useForm<{ chosen: string[] }>({
    defaultValues: { chosen: current.map((w) => String(w.id)) },
  });
  const replace = useMutation({
    mutationFn: (ids: number[]) => bulkAssign(groupId, ids),
    onSuccess: (created) => {
      client.setQueryData(assignmentsKey(groupId), created);
      void client.invalidateQueries({ queryKey: assignmentsKey(groupId) });
      onClose();
    },
  });
  const error = replace.error instanceof ApiError ? replace.error : null;
  const itemMessages = error
    ? Object.entries(error.fields)
        .filter(([key]) => key.startsWith("workflow_assignments") || key === "security_group_id")
        .map(([key, messages]) => describe(key, choices, asList(form.getValues("chosen"))) + messages.join(" "))
    : [];
  const chosen = asList(useWatch({ control: form.control, name: "chosen" }));
  const count = assignments.length;

  const submit = form.handleSubmit(({ chosen: ticked }) => {
    // Keep the order shown in the list, not the order the boxes were ticked.
    const ids = asList(ticked);
    const picked = choices.filter((w) => ids.includes(String(w.id))).map((w) => w.id);
    replace.mutate(picked);
  });

  return (
    <Dialog title={`Replace all assignments of ${groupName}`} onClose={onClose}>
      <form onSubmit={submit} noValidate>
        <p className="warning">
          This replaces every assignment of {groupName}: all {count} current assignment
          {count === 1 ? "" : "s"} will be deleted, and the workflows ticked below will be assigned in the
          order shown. It cannot be undone.
        </p>
        <fieldset>
          <legend>Workflows to assign, in this order</legend>
          {choices.length === 0 ? (
            <p className="muted">There are no active workflows to assign.</p>
          ) : (
            <ul className="check-list">
              {choices.map((w) => (
                <li key={w.id}>
                  <label>
                    <input type="checkbox" value={String(w.id)} {...form.register("chosen")} />
                    {w.name}
                    {w.code ? ` (${w.code})` : ""}
                  </label>
                </li>
              ))}
            </ul>
          )}
        </fieldset>
        {chosen.length === 0 && (
          <p className="muted">Nothing ticked: the group will be left with no workflows.</p>
        )}
        {itemMessages.map((message) => (
          <p key={message} className="field-error" role="alert">
            {message}
          </p>
        ))}
        <ErrorMessage error={itemMessages.length ? null : replace.error} />
        <div className="actions">
          <button type="submit" className="danger" disabled={replace.isPending}>
            {replace.isPending ? "Replacing…" : "Replace every assignment"}
          </button>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** "workflow_assignments.1.workflow_template_id" names the second ticked workflow. */
function describe(key: string, choices: Workflow[], chosen: string[]): string {
  const index = Number(key.split(".")[1]);
  if (!Number.isInteger(index)) return key === "security_group_id" ? "Security group: " : "";
  const picked = choices.filter((w) => chosen.includes(String(w.id)));
  const workflow = picked[index];
  return workflow ? `${workflow.name}: ` : "";
}

/** react-hook-form gives a lone checkbox's value as a boolean, a group's as an array. */
function asList(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}
