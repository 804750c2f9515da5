// Names for user ids (actors, assignees). Only ADMIN and SUPERVISOR may read the tenant's users;
// for other roles an id stays "user #N" (or "you"), and no request is sent that would be refused.
import { useQuery } from "@tanstack/react-query";

import { api, unwrap, type Schemas } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";

export type User = Schemas["User"];

/** The tenant's users (first 200, the API's largest page), for those allowed to read them. */
export function useTenantUsers() {
  const me = useMe();
  const tenant = me.tenant;
  const allowed = can.readUsers(me.role) && tenant !== null;
  return useQuery({
    queryKey: ["tenant-users", tenant],
    queryFn: () =>
      unwrap(
        api.GET("/api/tenants/{tenant_id}/users/", {
          params: { path: { tenant_id: tenant ?? 0 }, query: { page_size: 200 } },
        }),
      ),
    enabled: allowed,
    staleTime: 60_000,
  });
}

export function userLabel(user: Pick<User, "email" | "full_name">): string {
  return user.full_name ? `${user.full_name} (${user.email})` : user.email;
}

/** A function naming a user id in words. */
export function usePeople(): (id: number | null | undefined) => string {
  const me = useMe();
  const users = useTenantUsers();
  const byId = new Map((users.data?.results ?? []).map((u) => [u.id, u]));
  return (id) => {
    if (id == null) return "the system";
    if (id === me.id) return `you (${me.email})`;
    const user = byId.get(id);
    return user ? userLabel(user) : `user #${id}`;
  };
}
