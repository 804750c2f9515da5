// First: lets the API client build relative URLs under Node (see the module).
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import type { Schemas } from "../../api/client";
import { me } from "../../test/data";
import { jsonResponse, mockApi, renderSignedIn } from "../../test/render";
import { ACTIONS, GROUPS_PAGE, step, workflow } from "./testData";
import { WorkflowEditPage } from "./WorkflowEditPage";

afterEach(() => vi.unstubAllGlobals());

/** A server holding three steps that refuses an order already taken, as the API does. */
function serve(role: Schemas["RoleEnum"]) {
  const steps = [
    step(10, "Intake", 0, "approval", { approvers: { security_group: 7 }, rule: "all", allow_self_approval: false }),
    step(11, "Review", 1, "approval", { approvers: { role: "SUPERVISOR" }, rule: "any", allow_self_approval: false }),
    step(12, "Notify", 2, "webhook", { url: "https://example.com/hook", timeout_s: 10, max_attempts: 5 }),
  ];
  const sorted = () => [...steps].sort((a, b) => a.order - b.order);
  const api = mockApi({
    "GET /api/auth/session/": () => ({ user: me(role) }),
    "GET /api/tenants/1/workflows/5/": () => workflow(sorted()),
    "GET /api/workflows/5/steps/": () => ({ count: steps.length, results: sorted() }),
    "GET /api/actions/": () => ACTIONS,
    "GET /api/approvals/security-groups/": () => GROUPS_PAGE,
    "PATCH /api/workflows/5/steps/10/": (r) => patch(r, 10),
    "PATCH /api/workflows/5/steps/11/": (r) => patch(r, 11),
    "PATCH /api/workflows/5/steps/12/": (r) => patch(r, 12),
  });
  async function patch(request: Request, id: number) {
    const { order } = (await request.json()) as { order: number };
    if (steps.some((s) => s.id !== id && s.order === order)) {
      return jsonResponse(400, { order: [`Order ${order} is already used by another step of this workflow.`] });
    }
    const index = steps.findIndex((s) => s.id === id);
    steps[index] = { ...steps[index]!, order };
    return steps[index];
  }
  renderSignedIn(<WorkflowEditPage />, { route: "/workflows/5", path: "/workflows/:id" });
  return api;
}

const names = () =>
  screen.getAllByTestId("step-row").map((row) => row.querySelector(".step-title")?.textContent?.replace(/^\d+\.\s*/, "").split(" ")[0]);

describe("WorkflowEditPage steps", () => {
  it("reordering sends the orders that move the step without a collision", async () => {
    const api = serve("ADMIN");
    const user = userEvent.setup();
    await screen.findByRole("list", { name: /Steps of Two-step approval/ });
    expect(names()).toEqual(["Intake", "Review", "Notify"]);

    await user.click(screen.getByRole("button", { name: "Move Notify up" }));

    await screen.findByText("Order saved.");
    const patches = api.calls.filter((c) => c.method === "PATCH").map((c) => [c.path, c.body]);
    expect(patches).toEqual([
      ["/api/workflows/5/steps/12/", { order: 3 }], // parked above every order in use
      ["/api/workflows/5/steps/11/", { order: 2 }], // into the order Notify left
      ["/api/workflows/5/steps/12/", { order: 1 }], // into the order Review left
    ]);
    await waitFor(() => expect(names()).toEqual(["Intake", "Notify", "Review"]));
  });

  it("shows a VIEWER the steps with no write controls at all", async () => {
    serve("VIEWER");
    await screen.findByRole("list", { name: /Steps of Two-step approval/ });
    expect(names()).toEqual(["Intake", "Review", "Notify"]);
    expect(screen.getByText(/security group Finance Team; rule: all/)).toBeInTheDocument();
    expect(screen.queryAllByRole("button")).toEqual([]);
    expect(screen.queryAllByRole("textbox")).toEqual([]);
    expect(screen.queryByRole("form")).not.toBeInTheDocument();
    expect(screen.queryByText("Add a step")).toBeNull();
  });
});
