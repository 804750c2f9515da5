// Session sign-in: CSRF cookie first, then POST /api/auth/session/ (see README "Security").
import { ApiError, api, csrfToken, unwrap, type Schemas } from "../api/client";

export type Me = Schemas["Me"];
export type Role = Me["role"];

async function ensureCsrf(): Promise<void> {
  if (!csrfToken()) await fetch("/api/auth/csrf/", { credentials: "same-origin" });
}

async function send(method: "POST" | "DELETE", body?: unknown): Promise<Response> {
  await ensureCsrf();
  return fetch("/api/auth/session/", {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function signIn(email: string, password: string): Promise<Me> {
  const response = await send("POST", { email, password });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body as Me;
}

export async function signOut(): Promise<void> {
  const response = await send("DELETE");
  if (!response.ok && response.status !== 401) throw new ApiError(response.status, null);
}

/** The signed-in user, or null when signed out (401). */
export async function fetchMe(): Promise<Me | null> {
  try {
    return await unwrap(api.GET("/api/auth/me/"));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null;
    throw error;
  }
}
