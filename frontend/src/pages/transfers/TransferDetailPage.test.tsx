
import { configure, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { Schemas } from "../../api/client";
import { envelopeOf, pageOf } from "../../test/data";
import { jsonResponse, mockApi, type Handler, renderSignedIn } from "../../test/render";
import { meAs, transfer } from "./fixtures.test-data";
import { TransferDetailPage } from "./TransferDetailPage";

function page(me: Schemas["Me"], routes: Record<string, Handler>) {
  const api = mockApi({
    "GET /api/auth/session/": () => ({ user: me }),
    "GET /api/approvals/security-groups/3/members/": () => envelopeOf("members", []),
    "GET /api/tenants/1/users/": () => pageOf([]),
    "GET /api/tasks/": () => pageOf([]),
    ...routes,
  });
  renderSignedIn(<TransferDetailPage />, { route: "/transfers/5", path: "/transfers/:id" });
  return api;
}

// The first render of a file compiles its modules, and typing is slow on a busy machine.
configure({ asyncUtilTimeout: 5000 });
vi.setConfig({ testTimeout: 20_000 });

afterEach(() => vi.unstubAllGlobals());

describe("TransferDetailPage", () => {
  it("shows Not found for a missing or another tenant's transfer", async () => {
    page(meAs("AGENT"), {
      "GET /api/approvals/transfers/5/": () => jsonResponse(404, { success: false, errors: { detail: "Not found." } }),
    });
    expect(await screen.findByText("Not found")).toBeInTheDocument();
  });

  it("offers the decision only when a task of this transfer awaits the user", async () => {
    page(meAs("SUPERVISOR", 9), {
      "GET /api/approvals/transfers/5/": () => ({ success: true, transfer: transfer() }),
    });
    expect(await screen.findByText("Nothing on this transfer is waiting for your decision.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Approve" })).not.toBeInTheDocument();
    // A SUPERVISOR may cancel any pending transfer.
    expect(screen.getByText("Cancel this transfer")).toBeInTheDocument();
  });

  it("rejects with the comment and shows the new chain", async () => {
    const user = userEvent.setup();
    const rejected = transfer({
      status: "rejected",
      chain: [
        {
          ...transfer().chain[0]!,
          status: "rejected",
          current_step: null,
          finished_at: "2026-03-02T10:00:00Z",
          decisions: [
            { step: 21, decision: "reject", decided_by: 9, on_behalf_of: null, decided_at: "2026-03-02T10:00:00Z", comment: "Wrong IBAN" },
          ],
        },
      ],
    });
    let current = transfer();
    const { calls } = page(meAs("SUPERVISOR", 9), {
      "GET /api/approvals/transfers/5/": () => ({ success: true, transfer: current }),
      "GET /api/tasks/": () => pageOf([{ id: 40, subject: { type: "transfer", id: 5 }, action: "approval" }]),
      "POST /api/approvals/transfers/5/reject/": () => {
        current = rejected;
        return { success: true, message: 'Transfer "INV-1001" rejected', transfer: rejected };
      },
    });
    await user.type(await screen.findByLabelText("Comment (required to reject)"), "Wrong IBAN");
    await user.click(screen.getByRole("button", { name: "Reject" }));
    expect(await screen.findByText('Transfer "INV-1001" rejected.')).toBeInTheDocument();
    expect(calls.find((c) => c.method === "POST")).toEqual({
      method: "POST",
      path: "/api/approvals/transfers/5/reject/",
      body: { comment: "Wrong IBAN" },
    });
    expect(screen.getByRole("heading", { level: 1 })).toHaveTextContent("Rejected");
    expect(screen.getByText("“Wrong IBAN”")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Reject" })).not.toBeInTheDocument();
  });

  it("explains a 409 in words", async () => {
    const user = userEvent.setup();
    page(meAs("SUPERVISOR", 9), {
      "GET /api/approvals/transfers/5/": () => ({ success: true, transfer: transfer() }),
      "GET /api/tasks/": () => pageOf([{ id: 40, subject: { type: "transfer", id: 5 }, action: "approval" }]),
      "POST /api/approvals/transfers/5/approve/": () =>
        jsonResponse(409, { success: false, errors: { detail: "This transfer is already approved." } }),
    });
    await user.click(await screen.findByRole("button", { name: "Approve" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Not recorded: someone was faster.");
    expect(alert).toHaveTextContent("This transfer is already approved.");
  });
});
