// The approvals API calls behind the assignment manager, with their cache keys.
import { api, unwrap, type Schemas } from "../../api/client";

export type Assignment = Schemas["WorkflowAssignment"];
export type Workflow = Schemas["Workflow"];

export const assignmentsKey = (groupId: number) => ["approvals", "assignments", groupId] as const;
export const activeWorkflowsKey = (tenantId: number) =>
  ["tenant-workflows", tenantId, "active-all"] as const;

/** A group's assignments, in execution order (the server sorts them so). */
export async function fetchAssignments(groupId: number): Promise<Assignment[]> {
  const data = await unwrap(
    api.GET("/api/approvals/workflow-assignments/", {
      params: { query: { security_group: groupId } },
    }),
  );
  return [...data.assignments].sort((a, b) => a.execution_order - b.execution_order || a.id - b.id);
}

/** The tenant's active workflows (only active ones may be assigned), up to the API's page
 * maximum of 200. */
export async function fetchActiveWorkflows(tenantId: number): Promise<Workflow[]> {
  const data = await unwrap(
    api.GET("/api/tenants/{tenant_id}/workflows/", {
      params: { path: { tenant_id: tenantId }, query: { is_active: true, page_size: 200 } },
    }),
  );
  return data.results;
}

export async function reorderAssignments(groupId: number, ordered: Assignment[]): Promise<Assignment[]> {
  const data = await unwrap(
    api.PUT("/api/approvals/workflow-assignments/reorder/", {
      body: {
        security_group_id: groupId,
        assignment_orders: ordered.map((a, i) => ({ assignment_id: a.id, execution_order: i + 1 })),
      },
    }),
  );
  return data.assignments;
}

export async function createAssignment(
  groupId: number,
  workflowId: number,
  executionOrder: number,
): Promise<Assignment> {
  const data = await unwrap(
    api.POST("/api/approvals/workflow-assignments/", {
      body: {
        security_group: groupId,
        workflow_template: workflowId,
        execution_order: executionOrder,
        is_active: true,
      },
    }),
  );
  return data.assignment;
}

export async function setAssignmentActive(id: number, isActive: boolean): Promise<Assignment> {
  const data = await unwrap(
    api.PATCH("/api/approvals/workflow-assignments/{id}/", {
      params: { path: { id } },
      body: { is_active: isActive },
    }),
  );
  return data.assignment;
}

export async function deleteAssignment(id: number): Promise<void> {
  await unwrap(
    api.DELETE("/api/approvals/workflow-assignments/{id}/", { params: { path: { id } } }),
  );
}

export async function bulkAssign(groupId: number, workflowIds: number[]): Promise<Assignment[]> {
  const data = await unwrap(
    api.POST("/api/approvals/workflow-assignments/bulk-assign/", {
      body: {
        security_group_id: groupId,
        workflow_assignments: workflowIds.map((id, i) => ({
          workflow_template_id: id,
          execution_order: i + 1,
        })),
      },
    }),
  );
  return data.assignments;
}
