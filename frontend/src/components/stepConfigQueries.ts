// The pickers' data for step configs: the tenant's security groups and users (first 200 each,
// the API's largest page), shared by the form and the step list through the query cache.
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../api/client";

export const PICKER_PAGE_SIZE = 200;

export function useSecurityGroups(enabled = true) {
  return useQuery({
    queryKey: ["security-groups", "picker"],
    queryFn: () =>
      unwrap(
        api.GET("/api/approvals/security-groups/", {
          params: { query: { page_size: PICKER_PAGE_SIZE } },
        }),
      ),
    enabled,
    staleTime: 30_000,
  });
}

export function useTenantUsers(tenantId: number | null, enabled = true) {
  return useQuery({
    queryKey: ["users", tenantId, "picker"],
    queryFn: () =>
      unwrap(
        api.GET("/api/tenants/{tenant_id}/users/", {
          params: { path: { tenant_id: tenantId ?? 0 }, query: { page_size: PICKER_PAGE_SIZE } },
        }),
      ),
    enabled: enabled && tenantId != null,
    staleTime: 30_000,
  });
}
