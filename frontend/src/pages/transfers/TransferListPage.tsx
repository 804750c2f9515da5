// Transfers, newest first, with the API's filters; filters and page live in the URL.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Link } from "react-router";

import { api, unwrap, type Schemas } from "../../api/client";
import type { operations } from "../../api/schema";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { LabelOptions } from "../../components/LabelOptions";
import { Pagination, useFilters, usePage } from "../../components/Pagination";
import { QueryView } from "../../components/States";
import { when } from "../../components/time";
import { useSecurityGroups } from "./groups";
import { TRANSFER_STATUS, amountText, chainSummary } from "./words";
import "./transfers.css";

type Query = NonNullable<operations["approvals_transfers_list"]["parameters"]["query"]>;
type Status = Schemas["Transfer"]["status"];

export const TRANSFER_PAGE_SIZE = 20;
const FILTERS = ["status", "transfer_type", "security_group", "mine", "awaiting_me"] as const;

function isStatus(value: string): value is Status {
  return value in TRANSFER_STATUS;
}

export function TransferListPage() {
  const me = useMe();
  const page = usePage();
  const [filters, setFilter] = useFilters(FILTERS);
  const groups = useSecurityGroups();
  const groupId = Number(filters.security_group);
  const query: Query = {
    page,
    page_size: TRANSFER_PAGE_SIZE,
    ...(isStatus(filters.status) ? { status: filters.status } : {}),
    ...(filters.transfer_type ? { transfer_type: filters.transfer_type } : {}),
    ...(Number.isInteger(groupId) && groupId > 0 ? { security_group: groupId } : {}),
    ...(filters.mine === "true" ? { mine: true } : {}),
    ...(filters.awaiting_me === "true" ? { awaiting_me: true } : {}),
  };
  const transfers = useQuery({
    queryKey: ["transfers", "list", query],
    queryFn: () => unwrap(api.GET("/api/approvals/transfers/", { params: { query } })),
    placeholderData: keepPreviousData,
  });
  const filtered = FILTERS.some((key) => filters[key]);

  return (
    <section>
      <div className="page-head">
        <h1>Transfers</h1>
        {can.createTransfers(me.role) && (
          <Link className="button primary" to="/transfers/new">
            New transfer
          </Link>
        )}
      </div>
      <form
        className="filters"
        aria-label="Filter transfers"
        onSubmit={(event) => {
          event.preventDefault();
          const value = new FormData(event.currentTarget).get("transfer_type");
          setFilter("transfer_type", String(value ?? "").trim());
        }}
      >
        <div>
          <label htmlFor="transfers-status">Status</label>
          <select id="transfers-status" value={filters.status} onChange={(e) => setFilter("status", e.target.value)}>
            <option value="">Any status</option>
            <LabelOptions labels={TRANSFER_STATUS} />
          </select>
        </div>
        <div>
          <label htmlFor="transfers-type">Transfer type</label>
          <input
            id="transfers-type"
            name="transfer_type"
            key={filters.transfer_type}
            defaultValue={filters.transfer_type}
            placeholder="e.g. FAR"
            onBlur={(e) => {
              if (e.target.value.trim() !== filters.transfer_type) setFilter("transfer_type", e.target.value.trim());
            }}
          />
        </div>
        <div>
          <label htmlFor="transfers-group">Security group</label>
          <select
            id="transfers-group"
            value={filters.security_group}
            onChange={(e) => setFilter("security_group", e.target.value)}
          >
            <option value="">Any group</option>
            {(groups.data ?? []).map((group) => (
              <option key={group.id} value={String(group.id)}>
                {group.name}
              </option>
            ))}
          </select>
        </div>
        <div className="check-group">
          <label className="check">
            <input
              type="checkbox"
              checked={filters.mine === "true"}
              onChange={(e) => setFilter("mine", e.target.checked ? "true" : "")}
            />
            Created by me
          </label>
          <label className="check">
            <input
              type="checkbox"
              checked={filters.awaiting_me === "true"}
              onChange={(e) => setFilter("awaiting_me", e.target.checked ? "true" : "")}
            />
            Awaiting my decision
          </label>
        </div>
        <div>
          <button type="submit">Apply</button>
        </div>
      </form>
      <QueryView
        query={transfers}
        what="transfers"
        isEmpty={(data) => data.transfers.length === 0}
        empty={filtered ? "No transfer matches these filters." : "No transfers yet."}
      >
        {(data) => (
          <>
            <div className="table-wrap">
              <table>
                <caption className="visually-hidden">Transfers, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Reference</th>
                    <th scope="col">Type</th>
                    <th scope="col">Amount</th>
                    <th scope="col">Security group</th>
                    <th scope="col">Status</th>
                    <th scope="col">Chain</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {data.transfers.map((transfer) => (
                    <tr key={transfer.id}>
                      <td>
                        <Link to={`/transfers/${transfer.id}`}>{transfer.reference}</Link>
                      </td>
                      <td>{transfer.transfer_type}</td>
                      <td>{amountText(transfer)}</td>
                      <td>{transfer.security_group_name}</td>
                      <td>
                        <span className={`badge badge-${transfer.status}`}>{TRANSFER_STATUS[transfer.status]}</span>
                      </td>
                      <td>{chainSummary(transfer)}</td>
                      <td>{when(transfer.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pagination count={data.count} pageSize={TRANSFER_PAGE_SIZE} label="Transfers" />
          </>
        )}
      </QueryView>
    </section>
  );
}
