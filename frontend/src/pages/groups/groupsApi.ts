// Security groups and their members (approvals API), with their cache keys.
import { api, unwrap, type Schemas } from "../../api/client";

export type SecurityGroup = Schemas["SecurityGroup"];
export type Member = Schemas["SecurityGroupMember"];
export type GroupInput = Schemas["SecurityGroupInputRequest"];

export const PAGE_SIZE = 20;

export const groupsKey = ["approvals", "groups"] as const;
export const groupKey = (id: number) => ["approvals", "group", id] as const;
export const membersKey = (id: number) => ["approvals", "group", id, "members"] as const;

export function fetchGroups(page: number, pageSize = PAGE_SIZE) {
  return unwrap(
    api.GET("/api/approvals/security-groups/", { params: { query: { page, page_size: pageSize } } }),
  );
}

export async function fetchGroup(id: number): Promise<SecurityGroup> {
  const data = await unwrap(
    api.GET("/api/approvals/security-groups/{id}/", { params: { path: { id } } }),
  );
  return data.security_group;
}

export async function createGroup(body: GroupInput): Promise<SecurityGroup> {
  const data = await unwrap(api.POST("/api/approvals/security-groups/", { body }));
  return data.security_group;
}

export async function updateGroup(id: number, body: Schemas["PatchedSecurityGroupInputRequest"]) {
  const data = await unwrap(
    api.PATCH("/api/approvals/security-groups/{id}/", { params: { path: { id } }, body }),
  );
  return data.security_group;
}

export async function deleteGroup(id: number): Promise<void> {
  await unwrap(api.DELETE("/api/approvals/security-groups/{id}/", { params: { path: { id } } }));
}

export function fetchMembers(groupId: number, page: number) {
  return unwrap(
    api.GET("/api/approvals/security-groups/{group_id}/members/", {
      params: { path: { group_id: groupId }, query: { page, page_size: PAGE_SIZE } },
    }),
  );
}

export async function addMember(groupId: number, userId: number): Promise<Member> {
  const data = await unwrap(
    api.POST("/api/approvals/security-groups/{group_id}/members/", {
      params: { path: { group_id: groupId } },
      body: { user: userId },
    }),
  );
  return data.member;
}

export async function removeMember(groupId: number, userId: number): Promise<void> {
  await unwrap(
    api.DELETE("/api/approvals/security-groups/{group_id}/members/{user_id}/", {
      params: { path: { group_id: groupId, user_id: userId } },
    }),
  );
}
