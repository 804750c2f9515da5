// Security groups: the list (paginated, page in the URL) and, for an ADMIN, a form to create
// one. The API has no filter on this list, so none is offered.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useForm } from "react-hook-form";
import { Link } from "react-router";

import { ApiError } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { Pagination, usePage } from "../../components/Pagination";
import { ErrorMessage, FieldError, QueryView } from "../../components/States";
import "../../components/groups/groups.css";
import { PAGE_SIZE, createGroup, fetchGroups, groupsKey, type SecurityGroup } from "./groupsApi";

export function GroupListPage() {
  const me = useMe();
  const page = usePage();
  const groups = useQuery({
    queryKey: [...groupsKey, page],
    queryFn: () => fetchGroups(page),
    placeholderData: keepPreviousData,
  });
  return (
    <section>
      <h1>Security groups</h1>
      <p className="muted">
        A transfer is filed for a security group; the group's assigned workflows then run one after
        another.
      </p>
      {can.manageDefinitions(me.role) && <CreateGroupForm />}
      <h2>All groups</h2>
      <QueryView
        query={groups}
        what="security groups"
        isEmpty={(data) => data.security_groups.length === 0}
        empty={page > 1 ? "No groups on this page." : "No security group yet."}
      >
        {(data) => (
          <>
            <GroupTable groups={data.security_groups} />
            <Pagination count={data.count} pageSize={PAGE_SIZE} label="Security groups" />
          </>
        )}
      </QueryView>
    </section>
  );
}

function GroupTable({ groups }: { groups: SecurityGroup[] }) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="muted">Security groups of your tenant</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Description</th>
            <th scope="col">Status</th>
            <th scope="col">Members</th>
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <tr key={g.id}>
              <td>
                <Link to={`/groups/${g.id}`}>{g.name}</Link>
              </td>
              <td>{g.description || <span className="muted">—</span>}</td>
              <td>{g.is_active ? "Active" : "Inactive"}</td>
              <td>{g.member_count}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CreateGroupForm() {
  const client = useQueryClient();
  const form = useForm<{ name: string; description: string }>({
    defaultValues: { name: "", description: "" },
  });
  const create = useMutation({
    mutationFn: createGroup,
    onSuccess: () => {
      form.reset();
      void client.invalidateQueries({ queryKey: groupsKey });
    },
  });
  const error = create.error instanceof ApiError ? create.error : null;
  const nameError = error?.field("name") ?? form.formState.errors.name?.message;
  const descriptionError = error?.field("description");
  return (
    <form
      className="panel"
      aria-labelledby="new-group-title"
      noValidate
      onSubmit={form.handleSubmit((values) => create.mutate(values))}
    >
      <h2 id="new-group-title">New security group</h2>
      <label htmlFor="group-name">Name</label>
      <input
        id="group-name"
        autoComplete="off"
        aria-invalid={nameError ? true : undefined}
        aria-describedby={nameError ? "group-name-error" : undefined}
        {...form.register("name", { required: "Give the group a name." })}
      />
      <FieldError id="group-name-error" message={nameError} />
      <label htmlFor="group-description">Description (optional)</label>
      <textarea
        id="group-description"
        aria-invalid={descriptionError ? true : undefined}
        aria-describedby={descriptionError ? "group-description-error" : undefined}
        {...form.register("description")}
      />
      <FieldError id="group-description-error" message={descriptionError} />
      <ErrorMessage error={create.error && !nameError && !descriptionError ? create.error : null} />
      {create.isSuccess && (
        <p className="notice" role="status">
          Created <Link to={`/groups/${create.data.id}`}>{create.data.name}</Link>.
        </p>
      )}
      <div className="actions">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Creating…" : "Create group"}
        </button>
      </div>
    </form>
  );
}
