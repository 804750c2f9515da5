// Start one of the tenant's active workflows on the case (POST /api/cases/{id}/runs/).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useForm } from "react-hook-form";

import { api, unwrap, type Schemas } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { FieldError, Loading, ErrorState } from "../../components/States";
import { FormProblem, fieldMessage } from "./FormProblem";

type CaseDetail = Schemas["CaseDetail"];

export function StartRunForm({ caseId }: { caseId: number }) {
  const me = useMe();
  const client = useQueryClient();
  const tenant = me.tenant ?? 0;
  const workflows = useQuery({
    queryKey: ["workflows", tenant, { is_active: true, page_size: 200 }],
    queryFn: () =>
      unwrap(
        api.GET("/api/tenants/{tenant_id}/workflows/", {
          params: { path: { tenant_id: tenant }, query: { is_active: true, page_size: 200 } },
        }),
      ),
    staleTime: 30_000,
  });
  const form = useForm<{ workflow: string }>({ defaultValues: { workflow: "" } });
  const start = useMutation({
    mutationFn: (workflow: number) =>
      unwrap(api.POST("/api/cases/{id}/runs/", { params: { path: { id: caseId } }, body: { workflow } })),
    onSuccess: (run) => {
      client.setQueryData(["run", run.id], run);
      client.setQueryData<CaseDetail>(["case", caseId], (old) =>
        old && !old.runs.some((r) => r.id === run.id) ? { ...old, runs: [...old.runs, run] } : old,
      );
      void client.invalidateQueries({ queryKey: ["case", caseId] });
      form.reset();
    },
  });

  if (workflows.isPending) return <Loading what="workflows" />;
  if (workflows.isError) return <ErrorState error={workflows.error} />;
  const active = workflows.data.results;
  if (active.length === 0) return <p className="state state-empty">There is no active workflow to start.</p>;
  // Case workflows (no transfer type) first: the approval ones are made for transfers.
  const sorted = [...active].sort((a, b) => Number(Boolean(a.transfer_type)) - Number(Boolean(b.transfer_type)) || a.name.localeCompare(b.name));
  const message = form.formState.errors.workflow?.message || fieldMessage(start.error, "workflow");

  return (
    <form onSubmit={form.handleSubmit((values) => start.mutate(Number(values.workflow)))} noValidate>
      <FormProblem error={start.error} shown={["workflow"]} />
      <div className="inline">
        <div>
          <label htmlFor="start-workflow">Workflow</label>
          <select
            id="start-workflow"
            {...form.register("workflow", { required: "Pick a workflow to start." })}
            aria-invalid={message ? true : undefined}
            aria-describedby={message ? "start-workflow-error" : undefined}
          >
            <option value="">Pick a workflow…</option>
            {sorted.map((w) => (
              <option key={w.id} value={String(w.id)}>
                {w.name}
                {w.transfer_type ? ` (for ${w.transfer_type} transfers)` : ""}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="primary" disabled={start.isPending}>
          {start.isPending ? "Starting…" : "Start workflow"}
        </button>
      </div>
      <FieldError id="start-workflow-error" message={message} />
      {start.isSuccess && (
        <p className="notice" role="status">
          Started {start.data.workflow_name}.
        </p>
      )}
    </form>
  );
}
