import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useForm } from "react-hook-form";
import { Link, useSearchParams } from "react-router";

import { api, unwrap } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { Pagination, useFilters, usePage } from "../../components/Pagination";
import { Empty, QueryView } from "../../components/States";
import { when } from "../../components/time";
import { keys } from "./queries";
import "./designer.css";

const PAGE_SIZE = 20;
const FILTERS = ["search", "code", "transfer_type", "is_active"] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

export function WorkflowListPage() {
  const me = useMe();
  const page = usePage();
  const [filters] = useFilters(FILTERS);
  const tenantId = me.tenant;
  const isActive = filters.is_active === "true" ? true : filters.is_active === "false" ? false : undefined;
  const query = {
    page,
    page_size: PAGE_SIZE,
    ...(filters.search && { search: filters.search }),
    ...(filters.code && { code: filters.code }),
    ...(filters.transfer_type && { transfer_type: filters.transfer_type }),
    ...(isActive !== undefined && { is_active: isActive }),
  };
  const list = useQuery({
    queryKey: [...keys.workflows, tenantId, query],
    queryFn: () =>
      unwrap(
        api.GET("/api/tenants/{tenant_id}/workflows/", {
          params: { path: { tenant_id: tenantId ?? 0 }, query },
        }),
      ),
    enabled: tenantId != null,
    placeholderData: keepPreviousData,
  });
  const filtered = FILTERS.some((k) => filters[k]);

  return (
    <section className="designer">
      <div className="page-head">
        <h1>Workflows</h1>
        {can.manageDefinitions(me.role) && (
          <Link className="button primary" to="/workflows/new">
            New workflow
          </Link>
        )}
      </div>
      {/* Keyed by the URL so back/forward show the filters the list is using. */}
      <FilterForm key={FILTERS.map((k) => filters[k]).join("|")} filters={filters} />
      {tenantId == null ? (
        <Empty>Your account belongs to no tenant, so it has no workflows.</Empty>
      ) : (
        <QueryView
          query={list}
          what="workflows"
          isEmpty={(data) => data.results.length === 0}
          empty={filtered ? "No workflow matches these filters." : "There are no workflows yet."}
        >
          {(data) => (
            <>
              <div className="table-wrap">
                <table aria-label="Workflows">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Code</th>
                      <th scope="col">Transfer type</th>
                      <th scope="col">Steps</th>
                      <th scope="col">Status</th>
                      <th scope="col">Updated</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.results.map((w) => (
                      <tr key={w.id}>
                        <td>
                          <Link to={`/workflows/${w.id}`}>{w.name}</Link>
                        </td>
                        <td>{w.code ?? <span className="muted">none</span>}</td>
                        <td>{w.transfer_type || <span className="muted">any</span>}</td>
                        <td>{w.steps.length}</td>
                        <td>{w.is_active ? "Active" : "Inactive"}</td>
                        <td>{when(w.updated_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pagination count={data.count} pageSize={PAGE_SIZE} label="Workflows" />
            </>
          )}
        </QueryView>
      )}
    </section>
  );
}

function FilterForm({ filters }: { filters: Filters }) {
  const [, setParams] = useSearchParams();
  const { register, handleSubmit } = useForm<Filters>({ defaultValues: filters });
  // All filters at once (one URL change), and back to page 1.
  const apply = handleSubmit((values) => {
    const next = new URLSearchParams();
    for (const key of FILTERS) {
      const value = values[key].trim();
      if (value) next.set(key, value);
    }
    setParams(next);
  });
  return (
    <form className="filters" role="search" aria-label="Filter workflows" onSubmit={apply}>
      <div>
        <label htmlFor="wf-search">Name contains</label>
        <input id="wf-search" type="search" {...register("search")} />
      </div>
      <div>
        <label htmlFor="wf-code">Code</label>
        <input id="wf-code" {...register("code")} />
      </div>
      <div>
        <label htmlFor="wf-type">Transfer type</label>
        <input id="wf-type" {...register("transfer_type")} />
      </div>
      <div>
        <label htmlFor="wf-active">Status</label>
        <select id="wf-active" {...register("is_active")}>
          <option value="">Any</option>
          <option value="true">Active</option>
          <option value="false">Inactive</option>
        </select>
      </div>
      <div className="actions">
        <button type="submit">Filter</button>
        <button type="button" onClick={() => setParams(new URLSearchParams())}>
          Clear
        </button>
      </div>
    </form>
  );
}
