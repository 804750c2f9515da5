// A tenant's users (ADMIN writes; ADMIN and SUPERVISOR read), with their cache keys.
import { api, unwrap, type Schemas } from "../../api/client";

export type User = Schemas["User"];
export type Role = Schemas["RoleEnum"];
export const ROLES: Role[] = ["ADMIN", "SUPERVISOR", "AGENT", "VIEWER"];
export const USERS_PAGE_SIZE = 20;

export const usersKey = (tenantId: number) => ["tenant-users", tenantId] as const;

export function fetchUsers(tenantId: number, page: number, pageSize = USERS_PAGE_SIZE) {
  return unwrap(
    api.GET("/api/tenants/{tenant_id}/users/", {
      params: { path: { tenant_id: tenantId }, query: { page, page_size: pageSize } },
    }),
  );
}

export function createUser(tenantId: number, body: Schemas["UserCreateInputRequest"]) {
  return unwrap(api.POST("/api/tenants/{tenant_id}/users/", { params: { path: { tenant_id: tenantId } }, body }));
}

export function updateUser(tenantId: number, id: number, body: Schemas["PatchedUserUpdateInputRequest"]) {
  return unwrap(
    api.PATCH("/api/tenants/{tenant_id}/users/{id}/", {
      params: { path: { tenant_id: tenantId, id } },
      body,
    }),
  );
}

/** DELETE deactivates: the user stays, so history keeps their name. */
export async function deactivateUser(tenantId: number, id: number): Promise<void> {
  await unwrap(
    api.DELETE("/api/tenants/{tenant_id}/users/{id}/", { params: { path: { tenant_id: tenantId, id } } }),
  );
}
