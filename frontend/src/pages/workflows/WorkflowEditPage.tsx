// /workflows/new and /workflows/:id: a workflow's details and its steps. An ADMIN edits them;
// every other role sees the same definition read-only, with no write controls.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";

import { api, unwrap } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { Empty, ErrorMessage, ErrorState, Loading } from "../../components/States";
import { when } from "../../components/time";
import { keys, useWorkflow, type Workflow } from "./queries";
import { StepsSection } from "./StepsSection";
import { WorkflowDetailsForm, type WorkflowBody } from "./WorkflowDetailsForm";
import "./designer.css";

export function WorkflowEditPage() {
  const { id } = useParams();
  if (id === undefined) return <NewWorkflow />;
  const workflowId = /^\d+$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(workflowId)) {
    return (
      <section className="designer">
        <h1>Workflow not found</h1>
        <Empty>
          There is no workflow at this address. <Link to="/workflows">All workflows</Link>
        </Empty>
      </section>
    );
  }
  return <ExistingWorkflow key={workflowId} id={workflowId} />;
}

function BackLink() {
  return (
    <p className="back-link">
      <Link to="/workflows">← All workflows</Link>
    </p>
  );
}

function NewWorkflow() {
  const me = useMe();
  const navigate = useNavigate();
  const client = useQueryClient();
  const create = useMutation({
    mutationFn: (body: WorkflowBody) =>
      unwrap(
        api.POST("/api/tenants/{tenant_id}/workflows/", {
          params: { path: { tenant_id: me.tenant ?? 0 } },
          body,
        }),
      ),
    onSuccess: (workflow) => {
      client.setQueryData(keys.workflow(workflow.id), workflow);
      void client.invalidateQueries({ queryKey: keys.workflows });
      navigate(`/workflows/${workflow.id}`, { replace: true, state: { created: true } });
    },
  });
  return (
    <section className="designer">
      <BackLink />
      <h1>New workflow</h1>
      {!can.manageDefinitions(me.role) || me.tenant == null ? (
        <Empty>Only an administrator of your tenant may create workflows.</Empty>
      ) : (
        <div className="panel">
          <WorkflowDetailsForm
            onSubmit={(body) => create.mutate(body)}
            error={create.error}
            pending={create.isPending}
            submitLabel="Create workflow"
          />
          <p className="muted">You add its steps once it is created.</p>
        </div>
      )}
    </section>
  );
}

function ExistingWorkflow({ id }: { id: number }) {
  const me = useMe();
  const location = useLocation();
  const navigate = useNavigate();
  // "Created" is said once: kept for this visit, dropped from history so a reload does not repeat it.
  const [created] = useState(() => (location.state as { created?: boolean } | null)?.created === true);
  useEffect(() => {
    if (created) navigate(location.pathname, { replace: true, state: null });
  }, [created, navigate, location.pathname]);
  const workflow = useWorkflow(me.tenant ?? 0, id);
  const editable = can.manageDefinitions(me.role);
  if (workflow.isPending) return <Loading what="the workflow" />;
  if (workflow.isError) {
    return (
      <section className="designer">
        <BackLink />
        <h1>Workflow</h1>
        <ErrorState error={workflow.error} />
      </section>
    );
  }
  const w = workflow.data;
  return (
    <section className="designer">
      <BackLink />
      <h1>{w.name}</h1>
      {created && <p className="notice">Workflow created. Add its steps below.</p>}
      {editable ? <EditDetails workflow={w} tenantId={me.tenant ?? 0} /> : <ReadOnlyDetails workflow={w} />}
      <StepsSection
        workflow={w}
        editable={editable}
        tenantId={me.tenant}
        canReadUsers={can.readUsers(me.role)}
      />
      {editable && <DeleteWorkflow workflow={w} tenantId={me.tenant ?? 0} />}
    </section>
  );
}

function ReadOnlyDetails({ workflow }: { workflow: Workflow }) {
  return (
    <dl className="details">
      <dt>Description</dt>
      <dd>{workflow.description || <span className="muted">none</span>}</dd>
      <dt>Code</dt>
      <dd>{workflow.code ?? <span className="muted">none</span>}</dd>
      <dt>Transfer type</dt>
      <dd>{workflow.transfer_type || <span className="muted">none</span>}</dd>
      <dt>Status</dt>
      <dd>{workflow.is_active ? "Active" : "Inactive"}</dd>
      <dt>Updated</dt>
      <dd>{when(workflow.updated_at)}</dd>
    </dl>
  );
}

function EditDetails({ workflow, tenantId }: { workflow: Workflow; tenantId: number }) {
  const client = useQueryClient();
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: (body: WorkflowBody) =>
      unwrap(
        api.PATCH("/api/tenants/{tenant_id}/workflows/{id}/", {
          params: { path: { tenant_id: tenantId, id: workflow.id } },
          body,
        }),
      ),
    onMutate: () => setSaved(false),
    onSuccess: (updated) => {
      client.setQueryData(keys.workflow(workflow.id), updated);
      void client.invalidateQueries({ queryKey: keys.workflows });
      setSaved(true);
    },
  });
  return (
    <section className="panel" aria-labelledby="details-heading">
      <h2 id="details-heading">Details</h2>
      <WorkflowDetailsForm
        workflow={workflow}
        onSubmit={(body) => save.mutate(body)}
        error={save.error}
        pending={save.isPending}
        submitLabel="Save details"
      />
      <p role="status" className="muted">
        {saved ? "Details saved." : ""}
      </p>
    </section>
  );
}

function DeleteWorkflow({ workflow, tenantId }: { workflow: Workflow; tenantId: number }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({
    mutationFn: () =>
      unwrap(
        api.DELETE("/api/tenants/{tenant_id}/workflows/{id}/", {
          params: { path: { tenant_id: tenantId, id: workflow.id } },
        }),
      ),
    onSuccess: () => {
      client.removeQueries({ queryKey: keys.workflow(workflow.id) });
      void client.invalidateQueries({ queryKey: keys.workflows });
      navigate("/workflows", { replace: true });
    },
  });
  return (
    <section aria-labelledby="danger-heading" className="danger-zone">
      <h2 id="danger-heading">Delete this workflow</h2>
      {!confirming ? (
        <button type="button" onClick={() => setConfirming(true)}>
          Delete workflow…
        </button>
      ) : (
        <div role="group" aria-label="Confirm deleting the workflow">
          <p>
            Delete “{workflow.name}”, its steps and its assignments to security groups? Runs
            already started keep their own copy of the steps.
          </p>
          <div className="actions">
            <button type="button" className="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
              {remove.isPending ? "Deleting…" : "Delete workflow"}
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        </div>
      )}
      <ErrorMessage error={remove.error} />
    </section>
  );
}
