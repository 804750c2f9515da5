
import { configure, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { Schemas } from "../../api/client";
import { envelopeOf } from "../../test/data";
import { jsonResponse, mockApi, renderSignedIn } from "../../test/render";
import { financeGroup, meAs } from "./fixtures.test-data";
import { TransferNewPage } from "./TransferNewPage";

function page(role: Schemas["Me"]["role"], create: () => Response) {
  const api = mockApi({
    "GET /api/auth/session/": () => ({ user: meAs(role) }),
    "GET /api/approvals/security-groups/": () => envelopeOf("security_groups", [financeGroup]),
    "GET /api/approvals/workflow-assignments/": () => ({ success: true, count: 0, assignments: [] }),
    "POST /api/approvals/transfers/": create,
  });
  renderSignedIn(<TransferNewPage />, { route: "/transfers/new" });
  return api;
}

// The first render of a file compiles its modules, and typing is slow on a busy machine.
configure({ asyncUtilTimeout: 5000 });
vi.setConfig({ testTimeout: 20_000 });

afterEach(() => vi.unstubAllGlobals());

describe("TransferNewPage", () => {
  it("sends the form and shows a 400's message next to its field", async () => {
    const user = userEvent.setup();
    const { calls } = page("AGENT", () =>
      jsonResponse(400, {
        success: false,
        errors: { reference: ["A transfer with reference 'INV-1001' already exists."] },
      }),
    );
    await screen.findByRole("option", { name: "Finance Team" });
    await user.selectOptions(screen.getByLabelText("Security group"), "Finance Team");
    await user.type(screen.getByLabelText("Transfer type"), "FAR");
    await user.type(screen.getByLabelText("Reference"), "INV-1001");
    await user.type(screen.getByLabelText("Amount"), "1250.00");
    await user.clear(screen.getByLabelText("Currency"));
    await user.type(screen.getByLabelText("Currency"), "eur");
    await user.click(screen.getByRole("button", { name: "Create transfer" }));

    const reference = screen.getByLabelText("Reference");
    expect(await screen.findByText("A transfer with reference 'INV-1001' already exists.")).toHaveAttribute(
      "id",
      "transfer-reference-error",
    );
    expect(reference).toHaveAttribute("aria-invalid", "true");
    expect(reference).toHaveAccessibleDescription("A transfer with reference 'INV-1001' already exists.");
    expect(calls.filter((c) => c.method === "POST")[0]?.body).toEqual({
      security_group: 3,
      transfer_type: "FAR",
      reference: "INV-1001",
      amount: "1250.00",
      currency: "EUR",
      description: "",
    });
  });

  it("checks the fields before sending", async () => {
    const user = userEvent.setup();
    const { calls } = page("AGENT", () => jsonResponse(201, {}));
    await user.click(await screen.findByRole("button", { name: "Create transfer" }));
    expect(await screen.findByText("Give a reference.")).toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST")).toEqual([]);
  });

  it("offers a VIEWER no form", async () => {
    page("VIEWER", () => jsonResponse(201, {}));
    expect(await screen.findByText("Your role (VIEWER) may not create transfers.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Create transfer" })).not.toBeInTheDocument();
  });
});
