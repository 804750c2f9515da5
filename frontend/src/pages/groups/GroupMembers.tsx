// A security group's members (paginated, page in the URL); an ADMIN adds a user of the tenant
// from a picker and removes members.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useForm } from "react-hook-form";

import { ApiError } from "../../api/client";
import { Pagination, usePage } from "../../components/Pagination";
import { ErrorMessage, FieldError, QueryView } from "../../components/States";
import { fetchUsers, usersKey } from "../users/usersApi";
import { PAGE_SIZE, addMember, fetchMembers, groupKey, groupsKey, membersKey, removeMember, type Member } from "./groupsApi";

export function GroupMembers({
  groupId,
  tenantId,
  canEdit,
}: {
  groupId: number;
  tenantId: number | null;
  canEdit: boolean;
}) {
  const client = useQueryClient();
  const page = usePage();
  const members = useQuery({
    queryKey: [...membersKey(groupId), page],
    queryFn: () => fetchMembers(groupId, page),
    placeholderData: keepPreviousData,
  });
  const refresh = () => {
    void client.invalidateQueries({ queryKey: membersKey(groupId) });
    void client.invalidateQueries({ queryKey: groupKey(groupId), exact: true });
    void client.invalidateQueries({ queryKey: groupsKey });
  };
  const remove = useMutation({
    mutationFn: (member: Member) => removeMember(groupId, member.id),
    onSuccess: refresh,
  });
  return (
    <section className="panel" aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <QueryView
        query={members}
        what="members"
        isEmpty={(data) => data.members.length === 0}
        empty={page > 1 ? "No members on this page." : "This group has no members yet."}
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
                    {canEdit && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {data.members.map((m) => (
                    <tr key={m.id}>
                      <td>{m.full_name || <span className="muted">—</span>}</td>
                      <td>{m.email}</td>
                      <td>{m.role}</td>
                      <td>{m.is_active ? "Active" : "Deactivated"}</td>
                      {canEdit && (
                        <td>
                          <button
                            type="button"
                            onClick={() => remove.mutate(m)}
                            disabled={remove.isPending}
                            aria-label={`Remove ${m.email} from the group`}
                          >
                            Remove
                          </button>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pagination count={data.count} pageSize={PAGE_SIZE} label="Members" />
          </>
        )}
      </QueryView>
      <ErrorMessage error={remove.error} />
      {canEdit && tenantId != null && (
        <AddMemberForm
          groupId={groupId}
          tenantId={tenantId}
          known={members.data?.members ?? []}
          onAdded={refresh}
        />
      )}
    </section>
  );
}

function AddMemberForm({
  groupId,
  tenantId,
  known,
  onAdded,
}: {
  groupId: number;
  tenantId: number;
  known: Member[];
  onAdded: () => void;
}) {
  // The API's largest page: enough for a picker; a bigger tenant would want a search.
  const users = useQuery({
    queryKey: [...usersKey(tenantId), "picker"],
    queryFn: () => fetchUsers(tenantId, 1, 200),
  });
  const form = useForm<{ user: string }>({ defaultValues: { user: "" } });
  const add = useMutation({
    mutationFn: (userId: number) => addMember(groupId, userId),
    onSuccess: () => {
      form.reset({ user: "" });
      onAdded();
    },
  });
  const error = add.error instanceof ApiError ? add.error : null;
  const userError = error?.field("user") ?? error?.field("non_field_errors") ?? form.formState.errors.user?.message;
  const knownIds = new Set(known.map((m) => m.id));
  const choices = (users.data?.results ?? []).filter((u) => u.is_active && !knownIds.has(u.id));
  return (
    <form noValidate onSubmit={form.handleSubmit(({ user }) => add.mutate(Number(user)))}>
      <h3>Add a member</h3>
      <QueryView query={users} what="users">
        {() => (
          <div className="inline">
            <div>
              <label htmlFor="member-user">User</label>
              <select
                id="member-user"
                aria-invalid={userError ? true : undefined}
                aria-describedby={userError ? "member-user-error" : undefined}
                {...form.register("user", { required: "Choose a user to add." })}
              >
                <option value="">Choose a user…</option>
                {choices.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.full_name ? `${u.full_name} (${u.email})` : u.email}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" className="primary" disabled={add.isPending}>
              {add.isPending ? "Adding…" : "Add member"}
            </button>
          </div>
        )}
      </QueryView>
      <FieldError id="member-user-error" message={userError} />
      <ErrorMessage error={add.error && !userError ? add.error : null} />
    </form>
  );
}
