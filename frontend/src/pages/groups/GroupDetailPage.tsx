// One security group: its details (an ADMIN edits or deletes it), its members, and the
// workflows assigned to it in execution order.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { Link, useNavigate, useParams } from "react-router";

import { ApiError } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { AssignmentManager } from "../../components/AssignmentManager";
import { Dialog } from "../../components/groups/Dialog";
import { ErrorMessage, ErrorState, FieldError, Loading } from "../../components/States";
import { when } from "../../components/time";
import "../../components/groups/groups.css";
import { GroupMembers } from "./GroupMembers";
import { deleteGroup, fetchGroup, groupKey, groupsKey, updateGroup, type SecurityGroup } from "./groupsApi";

export function GroupDetailPage() {
  const { id: raw } = useParams();
  const id = Number(raw);
  const valid = Number.isInteger(id) && id > 0;
  const me = useMe();
  const group = useQuery({ queryKey: groupKey(id), queryFn: () => fetchGroup(id), enabled: valid });
  const admin = can.manageDefinitions(me.role);

  if (!valid) return <NotFound />;
  if (group.isPending) return <Loading what="the security group" />;
  if (group.isError) {
    return (
      <section>
        <h1>Security group</h1>
        <ErrorState error={group.error} />
        <p>
          <Link to="/groups">All security groups</Link>
        </p>
      </section>
    );
  }
  const g = group.data;
  return (
    <section>
      <p>
        <Link to="/groups">← All security groups</Link>
      </p>
      <h1>{g.name}</h1>
      {admin ? <GroupEditForm group={g} /> : <GroupFacts group={g} />}
      <GroupMembers groupId={g.id} tenantId={me.tenant} canEdit={admin} />
      {me.tenant == null ? (
        <p className="muted">Your account belongs to no tenant, so no workflows can be listed.</p>
      ) : (
        <AssignmentManager groupId={g.id} groupName={g.name} tenantId={me.tenant} canEdit={admin} />
      )}
      {admin && <DeleteGroup group={g} />}
    </section>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Security group</h1>
      <ErrorState error={new ApiError(404, null)} />
      <p>
        <Link to="/groups">All security groups</Link>
      </p>
    </section>
  );
}

function GroupFacts({ group: g }: { group: SecurityGroup }) {
  return (
    <dl className="panel">
      <dt>Description</dt>
      <dd>{g.description || "No description."}</dd>
      <dt>Status</dt>
      <dd>{g.is_active ? "Active: transfers may be filed for it." : "Inactive: no new transfers."}</dd>
      <dt>Last changed</dt>
      <dd>{when(g.updated_at)}</dd>
    </dl>
  );
}

interface EditValues {
  name: string;
  description: string;
  is_active: boolean;
}

function GroupEditForm({ group: g }: { group: SecurityGroup }) {
  const client = useQueryClient();
  const form = useForm<EditValues>({
    values: { name: g.name, description: g.description, is_active: g.is_active },
  });
  const save = useMutation({
    mutationFn: (values: EditValues) => updateGroup(g.id, values),
    onSuccess: (updated) => {
      client.setQueryData(groupKey(g.id), updated);
      void client.invalidateQueries({ queryKey: groupsKey });
    },
  });
  const error = save.error instanceof ApiError ? save.error : null;
  const nameError = error?.field("name") ?? form.formState.errors.name?.message;
  const descriptionError = error?.field("description");
  const activeError = error?.field("is_active");
  const other = save.error && !nameError && !descriptionError && !activeError ? save.error : null;
  return (
    <form
      className="panel"
      aria-labelledby="edit-group-title"
      noValidate
      onSubmit={form.handleSubmit((values) => save.mutate(values))}
    >
      <h2 id="edit-group-title">Details</h2>
      <label htmlFor="edit-group-name">Name</label>
      <input
        id="edit-group-name"
        autoComplete="off"
        aria-invalid={nameError ? true : undefined}
        aria-describedby={nameError ? "edit-group-name-error" : undefined}
        {...form.register("name", { required: "Give the group a name." })}
      />
      <FieldError id="edit-group-name-error" message={nameError} />
      <label htmlFor="edit-group-description">Description</label>
      <textarea
        id="edit-group-description"
        aria-invalid={descriptionError ? true : undefined}
        aria-describedby={descriptionError ? "edit-group-description-error" : undefined}
        {...form.register("description")}
      />
      <FieldError id="edit-group-description-error" message={descriptionError} />
      <label className="check-inline" htmlFor="edit-group-active">
        <input id="edit-group-active" type="checkbox" {...form.register("is_active")} />
        Active (transfers may be filed for this group)
      </label>
      <FieldError id="edit-group-active-error" message={activeError} />
      <ErrorMessage error={other} />
      {save.isSuccess && !form.formState.isDirty && (
        <p className="notice" role="status">
          Saved.
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save details"}
        </button>
      </div>
    </form>
  );
}

function DeleteGroup({ group: g }: { group: SecurityGroup }) {
  const [open, setOpen] = useState(false);
  const client = useQueryClient();
  const navigate = useNavigate();
  const remove = useMutation({
    mutationFn: () => deleteGroup(g.id),
    onSuccess: () => {
      client.removeQueries({ queryKey: groupKey(g.id) });
      void client.invalidateQueries({ queryKey: groupsKey });
      navigate("/groups", { replace: true });
    },
  });
  const conflict = remove.error instanceof ApiError && remove.error.status === 409;
  return (
    <section className="panel" aria-labelledby="delete-group-title">
      <h2 id="delete-group-title">Delete this group</h2>
      <p className="muted">
        Deleting removes its memberships and workflow assignments. A group that transfers were filed
        for cannot be deleted; make it inactive instead.
      </p>
      <button type="button" className="danger" onClick={() => setOpen(true)}>
        Delete group…
      </button>
      {open && (
        <Dialog title={`Delete ${g.name}?`} onClose={() => setOpen(false)}>
          <p>
            This deletes the security group {g.name} with its memberships and its workflow
            assignments. It cannot be undone.
          </p>
          {conflict ? (
            <p className="error-message" role="alert">
              {remove.error instanceof ApiError ? remove.error.field("detail") : null} This group
              cannot be deleted because transfers were filed for it: untick “Active” and save
              instead.
            </p>
          ) : (
            <ErrorMessage error={remove.error} />
          )}
          <div className="actions">
            <button type="button" className="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
              {remove.isPending ? "Deleting…" : "Delete for good"}
            </button>
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
