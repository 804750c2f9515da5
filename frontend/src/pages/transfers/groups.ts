// The tenant's security groups, for pickers and filters (every role may read them).
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";

export function useSecurityGroups() {
  return useQuery({
    queryKey: ["security-groups", "all"],
    queryFn: () =>
      unwrap(api.GET("/api/approvals/security-groups/", { params: { query: { page_size: 200 } } })),
    select: (data) => data.security_groups,
    staleTime: 60_000,
  });
}
