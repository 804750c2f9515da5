import { useMutation } from "@tanstack/react-query";
import { NavLink, Outlet, useNavigate } from "react-router";

import { useMe, useSignedOut } from "../auth/AuthContext";
import { can } from "../auth/roles";
import { signOut } from "../auth/session";
import { ErrorMessage } from "./States";

export function Layout() {
  const me = useMe();
  const navigate = useNavigate();
  const signedOut = useSignedOut();
  const leave = useMutation({
    mutationFn: signOut,
    onSuccess: () => {
      signedOut();
      navigate("/sign-in", { replace: true });
    },
  });
  const links: [string, string, boolean][] = [
    ["/inbox", "Inbox", true],
    ["/transfers", "Transfers", true],
    ["/cases", "Cases", true],
    ["/workflows", "Workflows", true],
    ["/groups", "Security groups", true],
    ["/users", "Users", can.readUsers(me.role)],
    ["/audit", "Audit log", can.readAudit(me.role)],
  ];
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Workflows</span>
        <nav aria-label="Main">
          <ul>
            {links
              .filter(([, , shown]) => shown)
              .map(([to, label]) => (
                <li key={to}>
                  <NavLink to={to}>{label}</NavLink>
                </li>
              ))}
          </ul>
        </nav>
        <div className="whoami" aria-label="Signed in as">
          <span className="whoami-name">{me.full_name || me.email}</span>
          <span className="whoami-meta">
            {me.tenant_name ?? "No tenant"} · <span className="role">{me.role}</span>
          </span>
          <button type="button" className="link-button" onClick={() => leave.mutate()}>
            Sign out
          </button>
          <ErrorMessage error={leave.error} />
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
