// Names for user ids on transfer screens: the signed-in user, the transfer's security group
// (every role may read its members) and, for roles that may read users, the tenant's users.
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import type { NameOf } from "../../components/Timeline";

export function usePeople(groupId: number | undefined): NameOf {
  const me = useMe();
  const members = useQuery({
    queryKey: ["security-groups", groupId, "members", "all"],
    queryFn: () =>
      unwrap(
        api.GET("/api/approvals/security-groups/{group_id}/members/", {
          params: { path: { group_id: groupId ?? 0 }, query: { page_size: 200 } },
        }),
      ),
    enabled: groupId !== undefined,
    staleTime: 60_000,
  });
  const users = useQuery({
    queryKey: ["users", me.tenant, "all"],
    queryFn: () =>
      unwrap(
        api.GET("/api/tenants/{tenant_id}/users/", {
          params: { path: { tenant_id: me.tenant ?? 0 }, query: { page_size: 200 } },
        }),
      ),
    enabled: can.readUsers(me.role) && me.tenant != null,
    staleTime: 60_000,
  });
  const names = new Map<number, string>();
  for (const user of users.data?.results ?? []) names.set(user.id, user.full_name || user.email);
  for (const member of members.data?.members ?? []) names.set(member.id, member.full_name || member.email);
  names.set(me.id, `${me.full_name || me.email} (you)`);
  return (id) => {
    if (id == null) return "a removed user";
    return names.get(id) ?? `user #${id}`;
  };
}
