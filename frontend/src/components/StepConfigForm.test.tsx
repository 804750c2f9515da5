// First: lets the API client build relative URLs under Node (see the module).
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { WorkflowEditPage } from "../pages/workflows/WorkflowEditPage";
import { ACTIONS, CUSTOM_ACTION, GROUPS_PAGE, workflow } from "../pages/workflows/testData";
import { me } from "../test/data";
import { jsonResponse, mockApi, renderSignedIn, renderWithProviders } from "../test/render";
import { StepConfigForm } from "./StepConfigForm";

afterEach(() => vi.unstubAllGlobals());

function renderForm(onSubmit = vi.fn(), actions = ACTIONS) {
  renderWithProviders(
    <StepConfigForm
      actions={actions}
      onSubmit={onSubmit}
      submitLabel="Add step"
      title="Add a step"
      tenantId={1}
      canReadUsers
    />,
  );
  return onSubmit;
}

describe("StepConfigForm", () => {
  it("shows the fields each chosen action declares", async () => {
    mockApi({});
    const user = userEvent.setup();
    renderForm(vi.fn(), [...ACTIONS, CUSTOM_ACTION]);
    const action = screen.getByLabelText("Action");

    // Approval is first: its approvers, rule and options; quorum only for rule "quorum".
    expect(screen.getByRole("group", { name: "Approvers" })).toBeInTheDocument();
    expect(screen.getByLabelText("Rule")).toHaveValue("any");
    expect(screen.getByLabelText(/allow the creator/i)).not.toBeChecked();
    expect(screen.getByLabelText("Due in (hours)")).toBeInTheDocument();
    expect(screen.queryByLabelText(/quorum \(approvals needed\)/i)).not.toBeInTheDocument();

    await user.selectOptions(action, "send_email");
    expect(screen.getByRole("group", { name: "Recipients" })).toBeInTheDocument();
    expect(screen.getByLabelText("Role")).toHaveValue("SUPERVISOR");
    expect(screen.getByLabelText("Subject")).toHaveValue("{workflow}: {step} ({subject_type} #{subject_id})");
    expect(screen.getByLabelText("Body")).toBeInTheDocument();
    expect(screen.queryByLabelText("Rule")).not.toBeInTheDocument();

    await user.selectOptions(action, "webhook");
    expect(screen.getByLabelText("URL")).toHaveValue("");
    expect(screen.getByLabelText("Timeout (seconds)")).toHaveValue(10);
    expect(screen.getByLabelText("Attempts at most")).toHaveValue(5);

    for (const key of ["check_safety", "verify_contact"]) {
      await user.selectOptions(action, key);
      expect(screen.getByText("This action has nothing to configure.")).toBeInTheDocument();
      expect(screen.queryByLabelText("URL")).not.toBeInTheDocument();
    }

    // An action the console has no form for: its settings as JSON, starting from its defaults.
    await user.selectOptions(action, "score_call");
    expect(screen.getByLabelText("Settings as JSON")).toHaveValue(JSON.stringify({ threshold: 3 }, null, 2));
  });

  it("submits an approval by security group with a quorum as the API's JSON", async () => {
    mockApi({ "GET /api/approvals/security-groups/": () => GROUPS_PAGE });
    const user = userEvent.setup();
    const onSubmit = renderForm();

    await user.type(screen.getByLabelText("Step name"), "Finance sign-off");
    await user.click(screen.getByLabelText("A security group"));
    const group = screen.getByLabelText("Security group");
    await within(group).findByRole("option", { name: "Finance Team" });
    await user.selectOptions(group, "Finance Team");
    await user.selectOptions(screen.getByLabelText("Rule"), "quorum");
    await user.type(screen.getByLabelText(/quorum \(approvals needed\)/i), "2");
    await user.click(screen.getByRole("button", { name: "Add step" }));

    await waitFor(() => expect(onSubmit).toHaveBeenCalledTimes(1));
    expect(onSubmit).toHaveBeenCalledWith({
      name: "Finance sign-off",
      action: "approval",
      config: {
        approvers: { security_group: 7 },
        rule: "quorum",
        quorum: 2,
        allow_self_approval: false,
        exclude_previous_deciders: false,
        business_hours: false,
      },
    });
  });

  it("submits approvers by role, rule all, and named users", async () => {
    mockApi({
      "GET /api/tenants/1/users/": () => ({
        count: 2,
        results: [
          { id: 11, email: "a1@x.example", full_name: "Approver One", tenant: 1, role: "SUPERVISOR", is_active: true, created_at: "2026-01-01T00:00:00Z" },
          { id: 12, email: "a2@x.example", full_name: "Approver Two", tenant: 1, role: "SUPERVISOR", is_active: true, created_at: "2026-01-01T00:00:00Z" },
        ],
      }),
    });
    const user = userEvent.setup();
    const onSubmit = renderForm();
    await user.type(screen.getByLabelText("Step name"), "Supervisors");
    await user.click(screen.getByLabelText("Everyone with a role"));
    await user.selectOptions(screen.getByLabelText("Role"), "SUPERVISOR");
    await user.selectOptions(screen.getByLabelText("Rule"), "all");
    await user.click(screen.getByRole("button", { name: "Add step" }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledTimes(1));
    expect(onSubmit.mock.calls[0]![0]).toEqual({
      name: "Supervisors",
      action: "approval",
      config: {
        approvers: { role: "SUPERVISOR" },
        rule: "all",
        allow_self_approval: false,
        exclude_previous_deciders: false,
        business_hours: false,
      },
    });

    await user.click(screen.getByLabelText("Named users"));
    await user.click(await screen.findByLabelText(/Approver Two/));
    await user.click(screen.getByRole("button", { name: "Add step" }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledTimes(2));
    expect(onSubmit.mock.calls[1]![0].config.approvers).toEqual({ users: [12] });
  });

  it("shows the server's 400 on config.url next to the URL field", async () => {
    const api = mockApi({
      "GET /api/auth/session/": () => ({ user: me("ADMIN") }),
      "GET /api/tenants/1/workflows/5/": () => workflow([]),
      "GET /api/workflows/5/steps/": () => ({ count: 0, results: [] }),
      "GET /api/actions/": () => ACTIONS,
      "GET /api/approvals/security-groups/": () => GROUPS_PAGE,
      "POST /api/workflows/5/steps/": () => jsonResponse(400, { config: { url: ["This field is required."] } }),
    });
    const user = userEvent.setup();
    renderSignedIn(<WorkflowEditPage />, { route: "/workflows/5", path: "/workflows/:id" });
    const form = await screen.findByRole("form", { name: "Add a step" });
    await user.type(within(form).getByLabelText("Step name"), "Notify");
    await user.selectOptions(within(form).getByLabelText("Action"), "webhook");
    await user.click(within(form).getByRole("button", { name: "Add step" }));

    const url = within(form).getByLabelText("URL");
    await waitFor(() => expect(url).toHaveAccessibleDescription(/This field is required\./));
    expect(url).toHaveAttribute("aria-invalid", "true");
    // Right after the URL input, in the URL field's own block.
    expect(url.closest(".config-field")).toHaveTextContent("This field is required.");
    const post = api.calls.find((c) => c.method === "POST");
    expect(post?.body).toEqual({
      name: "Notify",
      action: "webhook",
      order: 0,
      config: { timeout_s: 10, max_attempts: 5 },
    });

    // The message is about the webhook: another action does not inherit it.
    await user.selectOptions(within(form).getByLabelText("Action"), "approval");
    expect(within(form).queryByText(/This field is required/)).toBeNull();
  });
});
