// A signed-in API client for specs whose set-up writes through the API.
import { apiAs, expect, type Who } from "./fixtures";

/** `apiAs`, with writes that carry the CSRF token of the signed-in session: signing in
 * rotates the token, so the one `apiAs` read before it is refused (403 "CSRF Failed"). */
export async function apiSession(who: Who, baseURL: string) {
  const api = await apiAs(who, baseURL);
  const cookies = (await api.ctx.storageState()).cookies;
  const token = cookies.find((c) => c.name === "csrftoken")?.value ?? "";
  const send = async (method: string, url: string, data?: unknown) => {
    const response = await api.ctx.fetch(url, {
      method,
      data,
      headers: { "X-CSRFToken": token, Referer: baseURL + "/" },
    });
    const body = await response.text();
    expect(response.ok(), `${method} ${url} -> ${response.status()} ${body}`).toBeTruthy();
    return body ? JSON.parse(body) : null;
  };
  return {
    get: api.get,
    post: (url: string, data?: unknown) => send("POST", url, data),
    patch: (url: string, data?: unknown) => send("PATCH", url, data),
    dispose: api.dispose,
  };
}
