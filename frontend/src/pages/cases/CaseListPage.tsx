// /cases: the tenant's cases, newest first, filtered by the API's filters (all in the URL).
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";

import { api, unwrap } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { LabelOptions } from "../../components/LabelOptions";
import { QueryView } from "../../components/States";
import { Pagination, useFilters, usePage } from "../../components/Pagination";
import { when } from "../../components/time";
import { useTenantUsers, userLabel } from "../audit/people";
import { CaseCreateForm } from "./CaseCreateForm";
import { CASE_STATUSES, PRIORITIES, isKey } from "./labels";
import "./cases.css";

const PAGE_SIZE = 20;
const FILTERS = ["status", "priority", "assignee", "search"] as const;

export function CaseListPage() {
  const me = useMe();
  const page = usePage();
  const [filters, setFilter] = useFilters(FILTERS);
  const [creating, setCreating] = useState(false);
  const assignee = /^\d+$/.test(filters.assignee) ? Number(filters.assignee) : undefined;
  const query = {
    page,
    page_size: PAGE_SIZE,
    ...(isKey(CASE_STATUSES, filters.status) ? { status: filters.status } : {}),
    ...(isKey(PRIORITIES, filters.priority) ? { priority: filters.priority } : {}),
    ...(assignee !== undefined ? { assignee } : {}),
    ...(filters.search ? { search: filters.search } : {}),
  };
  const cases = useQuery({
    queryKey: ["cases", query],
    queryFn: () => unwrap(api.GET("/api/cases/", { params: { query } })),
    placeholderData: keepPreviousData,
  });
  const filtered = Boolean(filters.status || filters.priority || filters.assignee || filters.search);

  return (
    <section>
      <h1>Cases</h1>
      {can.createCases(me.role) && (
        <div className="panel">
          {creating ? (
            <>
              <h2 className="panel-title">Open a case</h2>
              <CaseCreateForm onCancel={() => setCreating(false)} />
            </>
          ) : (
            <button type="button" className="primary" onClick={() => setCreating(true)}>
              New case
            </button>
          )}
        </div>
      )}
      <CaseFilters key={filters.search} values={filters} set={setFilter} />
      <QueryView
        query={cases}
        what="cases"
        isEmpty={(data) => data.results.length === 0}
        empty={filtered ? "No case matches these filters." : "No cases yet."}
      >
        {(data) => (
          <>
            <div className="table-wrap">
              <table>
                <caption className="visually-hidden">Cases, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Reference</th>
                    <th scope="col">Title</th>
                    <th scope="col">Status</th>
                    <th scope="col">Priority</th>
                    <th scope="col">Assigned to</th>
                    <th scope="col">Opened</th>
                  </tr>
                </thead>
                <tbody>
                  {data.results.map((c) => (
                    <tr key={c.id}>
                      <td>
                        <Link to={`/cases/${c.id}`}>{c.reference}</Link>
                      </td>
                      <td>{c.title}</td>
                      <td>
                        <span className={`badge badge-${c.status}`}>{CASE_STATUSES[c.status]}</span>
                      </td>
                      <td>{PRIORITIES[c.priority]}</td>
                      <td>{c.assignee_email ?? <span className="muted">Nobody</span>}</td>
                      <td>{when(c.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pagination count={data.count} pageSize={PAGE_SIZE} label="Cases" />
          </>
        )}
      </QueryView>
    </section>
  );
}

function CaseFilters({
  values,
  set,
}: {
  values: Record<(typeof FILTERS)[number], string>;
  set: (key: (typeof FILTERS)[number], value: string) => void;
}) {
  const me = useMe();
  const users = useTenantUsers();
  const [search, setSearch] = useState(values.search);
  const known = new Set([String(me.id), ...(users.data?.results ?? []).map((u) => String(u.id))]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    set("search", search.trim());
  };
  return (
    <div className="filters" role="search" aria-label="Filter cases">
      <form onSubmit={submit} className="case-search">
        <label htmlFor="cases-search">Reference or title</label>
        <div className="case-search-row">
          <input id="cases-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
          <button type="submit">Search</button>
        </div>
      </form>
      <div>
        <label htmlFor="cases-status">Status</label>
        <select id="cases-status" value={values.status} onChange={(e) => set("status", e.target.value)}>
          <option value="">Any status</option>
          <LabelOptions labels={CASE_STATUSES} />
        </select>
      </div>
      <div>
        <label htmlFor="cases-priority">Priority</label>
        <select id="cases-priority" value={values.priority} onChange={(e) => set("priority", e.target.value)}>
          <option value="">Any priority</option>
          <LabelOptions labels={PRIORITIES} />
        </select>
      </div>
      <div>
        <label htmlFor="cases-assignee">Assigned to</label>
        <select id="cases-assignee" value={values.assignee} onChange={(e) => set("assignee", e.target.value)}>
          <option value="">Anyone</option>
          <option value={String(me.id)}>Me</option>
          {(users.data?.results ?? [])
            .filter((u) => u.id !== me.id)
            .map((u) => (
              <option key={u.id} value={String(u.id)}>
                {userLabel(u)}
              </option>
            ))}
          {values.assignee && !known.has(values.assignee) && (
            <option value={values.assignee}>User #{values.assignee}</option>
          )}
        </select>
      </div>
    </div>
  );
}
