// Session sign-in (README "Security"): a CSRF cookie first, then POST /api/auth/session/.
// Signing in rotates the CSRF token; client.ts reads the cookie afresh on every write.
import { ApiError, api, csrfToken, unwrap, type Schemas } from "../api/client";

export type Me = Schemas["Me"];
export type Role = Me["role"];

async function ensureCsrf(): Promise<void> {
  if (!csrfToken()) await unwrap(api.GET("/api/auth/csrf/"));
}

export async function signIn(email: string, password: string): Promise<Me> {
  await ensureCsrf();
  return unwrap(api.POST("/api/auth/session/", { body: { email, password } }));
}

export async function signOut(): Promise<void> {
  await ensureCsrf();
  try {
    await unwrap(api.DELETE("/api/auth/session/"));
  } catch (error) {
    // Already signed out elsewhere (expired, password changed): nothing left to end.
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
}

/** The signed-in user, or null when signed out (a 200 either way: nothing to log). */
export async function fetchMe(): Promise<Me | null> {
  const state = await unwrap(api.GET("/api/auth/session/"));
  return state.user ?? null;
}
