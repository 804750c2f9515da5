// What each role may do, as the API enforces it (README "Rules", DESIGN §4). The console hides
// what a role may not do; the server's 403 is still handled wherever a write is sent.
import type { Role } from "./session";

export const can = {
  manageDefinitions: (role: Role) => role === "ADMIN",
  manageUsers: (role: Role) => role === "ADMIN",
  readUsers: (role: Role) => role === "ADMIN" || role === "SUPERVISOR",
  createTransfers: (role: Role) => role !== "VIEWER",
  createCases: (role: Role) => role !== "VIEWER",
  deleteCases: (role: Role) => role === "ADMIN" || role === "SUPERVISOR",
  actOnTasks: (role: Role) => role !== "VIEWER",
  cancel: (role: Role) => role === "ADMIN" || role === "SUPERVISOR",
  readAudit: (role: Role) => role === "ADMIN" || role === "SUPERVISOR",
};
