// Reads for the designer: workflows, a workflow's steps, the action registry.
import { useQuery } from "@tanstack/react-query";

import { api, unwrap, type Schemas } from "../../api/client";

export type Workflow = Schemas["Workflow"];
export type Step = Schemas["Step"];

/** A designer shows every step at once to reorder them: the API's largest page. */
export const STEPS_PAGE_SIZE = 200;

export const keys = {
  workflows: ["workflows"] as const,
  workflow: (id: number) => ["workflow", id] as const,
  steps: (id: number) => ["workflow-steps", id] as const,
  actions: ["actions"] as const,
};

export function useWorkflow(tenantId: number, id: number) {
  return useQuery({
    queryKey: keys.workflow(id),
    queryFn: () =>
      unwrap(api.GET("/api/tenants/{tenant_id}/workflows/{id}/", { params: { path: { tenant_id: tenantId, id } } })),
  });
}

export function useSteps(workflowId: number) {
  return useQuery({
    queryKey: keys.steps(workflowId),
    queryFn: () =>
      unwrap(
        api.GET("/api/workflows/{workflow_id}/steps/", {
          params: { path: { workflow_id: workflowId }, query: { page_size: STEPS_PAGE_SIZE } },
        }),
      ),
  });
}

export function useActions() {
  return useQuery({
    queryKey: keys.actions,
    queryFn: () => unwrap(api.GET("/api/actions/")),
    staleTime: 5 * 60_000,
  });
}
