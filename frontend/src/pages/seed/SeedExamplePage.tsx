// The approvals specification's own React example, rendered unchanged for a chosen group
// (?group=N in the URL). It calls fetch() with no Authorization header: the console's session
// cookie is what signs it in.
import { useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";

import { QueryView } from "../../components/States";
import { WorkflowAssignmentManager } from "../../seed/WorkflowAssignmentManager";
import { fetchGroups, groupsKey } from "../groups/groupsApi";

export function SeedExamplePage() {
  const [params, setParams] = useSearchParams();
  const raw = params.get("group") ?? "";
  const groupId = /^\d{1,15}$/.test(raw) ? Number(raw) : null;
  // The API's largest page: enough for a picker on an example page.
  const groups = useQuery({ queryKey: [...groupsKey, "picker"], queryFn: () => fetchGroups(1, 200) });
  const chosen = groups.data?.security_groups.find((g) => g.id === groupId);

  return (
    <section>
      <h1>The specification's example</h1>
      <p>
        This is the approvals specification's own React example, “Workflow Assignment Manager”,
        unchanged: it asks <code>/api/approvals/workflow-assignments/?security_group=N</code> with a
        plain <code>fetch()</code> and no Authorization header, and works here on the console's
        session cookie.
      </p>
      <QueryView query={groups} what="security groups">
        {(data) => (
          <div className="filters">
            <div>
              <label htmlFor="seed-group">Security group</label>
              <select
                id="seed-group"
                value={groupId ?? ""}
                onChange={(event) => {
                  const value = event.target.value;
                  setParams(value ? { group: value } : {});
                }}
              >
                <option value="">Choose a group…</option>
                {data.security_groups.map((g) => (
                  <option key={g.id} value={g.id}>
                    {g.name}
                  </option>
                ))}
              </select>
            </div>
          </div>
        )}
      </QueryView>
      {groupId != null && (
        <section className="panel" aria-labelledby="seed-group-title">
          <h2 id="seed-group-title">{chosen ? chosen.name : `Group ${groupId}`}</h2>
          <WorkflowAssignmentManager securityGroupId={groupId} />
          <p>
            <Link to={`/groups/${groupId}`}>Open this group's page</Link> to reorder, add or remove its
            workflows.
          </p>
        </section>
      )}
    </section>
  );
}
