
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { Schemas } from "../../api/client";
import { when } from "../../components/time";
import { me, pageOf } from "../../test/data";
import { mockApi, renderSignedIn } from "../../test/render";
import { AuditPage } from "./AuditPage";

type Role = Schemas["RoleEnum"];

const users: Schemas["PaginatedUserList"] = {
  count: 1,
  results: [
    { id: 3, email: "agent@demo.example", full_name: "Ann Agent", tenant: 1, role: "AGENT", is_active: true, created_at: "2026-01-01T09:00:00Z" },
  ],
};

const caseRow = {
  id: 7,
  tenant_id: 1,
  reference: "CASE-7",
  title: "Caller needs help",
  status: "open",
  priority: "normal",
  assignee_id: 3,
  updated_at: "2026-03-02T10:00:00Z",
};

const entries: Schemas["AuditEvent"][] = [
  {
    id: 92,
    object_type: "cases.case",
    object_id: 7,
    operation: "update",
    old_data: caseRow,
    new_data: { ...caseRow, status: "in_progress", priority: "urgent", updated_at: "2026-03-02T11:00:00Z" },
    actor_id: 3,
    request_id: "r-2",
    created_at: "2026-03-02T11:00:00Z",
  },
  {
    id: 91,
    object_type: "cases.case",
    object_id: 7,
    operation: "insert",
    old_data: null,
    new_data: caseRow,
    actor_id: 1,
    request_id: "r-1",
    created_at: "2026-03-02T10:00:00Z",
  },
];

function renderPage(role: Role, route = "/audit") {
  const api = mockApi({
    "GET /api/auth/session/": () => ({ user: me(role) }),
    "GET /api/tenants/1/users/": () => users,
    "GET /api/audit-log/": () => pageOf(entries),
  });
  renderSignedIn(<AuditPage />, { route, path: "/audit" });
  return api;
}

afterEach(() => vi.unstubAllGlobals());

describe("AuditPage", () => {
  it("says who did what, when, and what changed (field: old → new)", async () => {
    renderPage("ADMIN");
    const items = await screen.findAllByTestId("audit-entry");
    expect(items).toHaveLength(2);
    const [update, insert] = items;
    await waitFor(() => expect(update).toHaveTextContent("by Ann Agent (agent@demo.example)"));
    expect(update).toHaveTextContent("Changed Case #7");
    expect(update).toHaveTextContent(when("2026-03-02T11:00:00Z"));
    const changed = within(update!).getByRole("list", { name: "What changed" });
    expect(within(changed).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "priority: normal → urgent",
      "status: open → in_progress",
    ]);
    expect(insert).toHaveTextContent("Created Case #7");
    expect(insert).toHaveTextContent("by you (admin@demo.example)");
    expect(insert).toHaveTextContent("title: Caller needs help");
    // A user id column is named: the person, not the number.
    expect(insert).toHaveTextContent("assignee: Ann Agent (agent@demo.example)");
  });

  it("sends the filters in the URL to the API, and a new filter too", async () => {
    const api = renderPage("SUPERVISOR", "/audit?object_type=cases.case&object_id=7&page=2");
    await screen.findAllByTestId("audit-entry");
    const audit = () => api.calls.filter((c) => c.path.startsWith("/api/audit-log/")).map((c) => new URL(c.path, "http://x").searchParams);
    expect(audit()[0]?.get("object_type")).toBe("cases.case");
    expect(audit()[0]?.get("object_id")).toBe("7");
    expect(audit()[0]?.get("page")).toBe("2");
    expect(screen.getByLabelText("Object type")).toHaveValue("cases.case");
    expect(screen.getByLabelText("Object id")).toHaveValue("7");

    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText("Object type"), "Workflow run");
    await waitFor(() => expect(audit().at(-1)?.get("object_type")).toBe("workflows.workflowrun"));
    // A new filter starts again at page 1 and keeps the id.
    expect(audit().at(-1)?.get("page")).toBe("1");
    expect(audit().at(-1)?.get("object_id")).toBe("7");
  });

  it("tells an AGENT in words that the role may not read it, and asks nothing", async () => {
    const api = renderPage("AGENT");
    expect(await screen.findByText(/may not read the audit log/)).toBeInTheDocument();
    expect(api.calls.filter((c) => c.path.startsWith("/api/audit-log/"))).toEqual([]);
  });
});
