// The tenant's users: ADMIN and SUPERVISOR read the list (paginated, page in the URL); an ADMIN
// creates users, changes roles, deactivates (the API's DELETE) and reactivates (PATCH).
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useForm } from "react-hook-form";

import { ApiError, type Schemas } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { Pagination, usePage } from "../../components/Pagination";
import { ErrorMessage, FieldError, QueryView } from "../../components/States";
import { when } from "../../components/time";
import "../../components/groups/groups.css";
import {
  ROLES,
  USERS_PAGE_SIZE,
  createUser,
  deactivateUser,
  fetchUsers,
  updateUser,
  usersKey,
  type Role,
  type User,
} from "./usersApi";

export function UsersPage() {
  const me = useMe();
  if (!can.readUsers(me.role) || me.tenant == null) {
    return (
      <section>
        <h1>Users</h1>
        <p className="state">Your role may not see the users of this tenant.</p>
      </section>
    );
  }
  return <UsersScreen tenantId={me.tenant} myId={me.id} admin={can.manageUsers(me.role)} />;
}

function UsersScreen({ tenantId, myId, admin }: { tenantId: number; myId: number; admin: boolean }) {
  const page = usePage();
  const users = useQuery({
    queryKey: [...usersKey(tenantId), "page", page],
    queryFn: () => fetchUsers(tenantId, page),
    placeholderData: keepPreviousData,
  });
  return (
    <section>
      <h1>Users</h1>
      {admin && <CreateUserForm tenantId={tenantId} />}
      <h2>All users</h2>
      <QueryView
        query={users}
        what="users"
        isEmpty={(data) => data.results.length === 0}
        empty={page > 1 ? "No users on this page." : "No users yet."}
      >
        {(data) => (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Status</th>
                    <th scope="col">Created</th>
                    {admin && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {data.results.map((u) => (
                    <UserRow key={u.id} user={u} tenantId={tenantId} admin={admin} isMe={u.id === myId} />
                  ))}
                </tbody>
              </table>
            </div>
            <Pagination count={data.count} pageSize={USERS_PAGE_SIZE} label="Users" />
          </>
        )}
      </QueryView>
    </section>
  );
}

function UserRow({ user: u, tenantId, admin, isMe }: { user: User; tenantId: number; admin: boolean; isMe: boolean }) {
  const client = useQueryClient();
  const [role, setRole] = useState<Role>(u.role);
  const refresh = () => client.invalidateQueries({ queryKey: usersKey(tenantId) });
  const change = useMutation({
    mutationFn: (body: Schemas["PatchedUserUpdateInputRequest"]) => updateUser(tenantId, u.id, body),
    onSuccess: (updated) => {
      setRole(updated.role);
      void refresh();
    },
  });
  const deactivate = useMutation({
    mutationFn: () => deactivateUser(tenantId, u.id),
    onSuccess: () => void refresh(),
  });
  const error = change.error ?? deactivate.error;
  const roleError = change.error instanceof ApiError ? change.error.field("role") : undefined;
  const name = u.full_name || u.email;
  const busy = change.isPending || deactivate.isPending;
  return (
    <tr>
      <td>
        {u.full_name || <span className="muted">—</span>}
        {isMe && <span className="muted"> (you)</span>}
      </td>
      <td>{u.email}</td>
      <td>
        {admin ? (
          <form
            className="inline role-form"
            onSubmit={(event) => {
              event.preventDefault();
              change.mutate({ role });
            }}
          >
            <select
              aria-label={`Role of ${name}`}
              value={role}
              onChange={(event) => setRole(event.target.value as Role)}
              aria-invalid={roleError ? true : undefined}
              aria-describedby={roleError ? `user-${u.id}-role-error` : undefined}
            >
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
            <button type="submit" disabled={busy || role === u.role} aria-label={`Change role of ${name}`}>
              Change role
            </button>
            <FieldError id={`user-${u.id}-role-error`} message={roleError} />
          </form>
        ) : (
          u.role
        )}
      </td>
      <td>{u.is_active ? "Active" : "Deactivated"}</td>
      <td>{when(u.created_at)}</td>
      {admin && (
        <td>
          {u.is_active ? (
            <button type="button" onClick={() => deactivate.mutate()} disabled={busy} aria-label={`Deactivate ${name}`}>
              Deactivate
            </button>
          ) : (
            <button
              type="button"
              onClick={() => change.mutate({ is_active: true })}
              disabled={busy}
              aria-label={`Reactivate ${name}`}
            >
              Reactivate
            </button>
          )}
          <ErrorMessage error={roleError ? null : error} />
        </td>
      )}
    </tr>
  );
}

interface NewUser {
  email: string;
  full_name: string;
  role: Role;
  password: string;
}

function CreateUserForm({ tenantId }: { tenantId: number }) {
  const client = useQueryClient();
  const form = useForm<NewUser>({ defaultValues: { email: "", full_name: "", role: "AGENT", password: "" } });
  const create = useMutation({
    mutationFn: (values: NewUser) => createUser(tenantId, values),
    onSuccess: () => {
      form.reset();
      void client.invalidateQueries({ queryKey: usersKey(tenantId) });
    },
  });
  const error = create.error instanceof ApiError ? create.error : null;
  const fieldError = (name: keyof NewUser) => error?.field(name) ?? form.formState.errors[name]?.message;
  const fields: (keyof NewUser)[] = ["email", "full_name", "role", "password"];
  const anyField = fields.some((f) => fieldError(f));
  const described = (name: keyof NewUser) =>
    fieldError(name) ? { "aria-invalid": true, "aria-describedby": `new-user-${name}-error` } : {};
  return (
    <form
      className="panel"
      aria-labelledby="new-user-title"
      noValidate
      onSubmit={form.handleSubmit((values) => create.mutate(values))}
    >
      <h2 id="new-user-title">New user</h2>
      <label htmlFor="new-user-email">Email</label>
      <input
        id="new-user-email"
        type="email"
        autoComplete="off"
        {...described("email")}
        {...form.register("email", { required: "Enter an email address." })}
      />
      <FieldError id="new-user-email-error" message={fieldError("email")} />
      <label htmlFor="new-user-full_name">Full name</label>
      <input id="new-user-full_name" autoComplete="off" {...described("full_name")} {...form.register("full_name")} />
      <FieldError id="new-user-full_name-error" message={fieldError("full_name")} />
      <label htmlFor="new-user-role">Role</label>
      <select id="new-user-role" {...described("role")} {...form.register("role")}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
      <FieldError id="new-user-role-error" message={fieldError("role")} />
      <label htmlFor="new-user-password">Password</label>
      <input
        id="new-user-password"
        type="password"
        autoComplete="new-password"
        {...described("password")}
        {...form.register("password", { required: "Enter a password." })}
      />
      <FieldError id="new-user-password-error" message={fieldError("password")} />
      <ErrorMessage error={create.error && !anyField ? create.error : null} />
      {create.isSuccess && (
        <p className="notice" role="status">
          Created {create.data.email}.
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create user"}
        </button>
      </div>
    </form>
  );
}
