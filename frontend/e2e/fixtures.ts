// Shared by every spec: sign in through the page or the API (session + CSRF, as the console
// does), fail on any browser console error, check WCAG 2.1 A/AA with axe-core, save screenshots.
import AxeBuilder from "@axe-core/playwright";
import { test as base, expect, request, type APIRequestContext, type Page } from "@playwright/test";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";

export const PASSWORD = "Demo-Pass-2026!";
export const USERS = {
  admin: "admin@demo.example",
  agent: "agent@demo.example",
  viewer: "viewer@demo.example",
  approver1: "approver1@demo.example",
  approver2: "approver2@demo.example",
  // scripts/e2e_seed.py: another tenant, with one transfer of its own.
  otherAdmin: "admin@other.example",
} as const;
export type Who = keyof typeof USERS;

export const ARTIFACTS = path.resolve(import.meta.dirname, "..", "test-artifacts", "e2e");
mkdirSync(ARTIFACTS, { recursive: true });

/** Ids the seed script wrote (scripts/e2e_seed.py). */
export function seedData(): Record<string, number | string> {
  const file = process.env.E2E_SEED_FILE;
  if (!file) throw new Error("E2E_SEED_FILE is not set: run the e2e through scripts/e2e.sh");
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, number | string>;
}

export async function shot(page: Page, name: string): Promise<string> {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const summary = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
  );
  expect(summary, `axe-core violations on ${screen}`).toEqual([]);
}

/** Signs in on the sign-in page (opened unless `here`: e.g. after a redirect with ?next=). */
export async function signIn(page: Page, who: Who, { here = false } = {}): Promise<void> {
  if (!here) await page.goto("/sign-in");
  await page.getByLabel("Email").fill(USERS[who]);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
}

export async function signOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in to Workflows" })).toBeVisible();
}

/** An API client signed in as `who` with a session cookie; writes carry the CSRF header. */
export async function apiAs(who: Who, baseURL: string) {
  const ctx: APIRequestContext = await request.newContext({ baseURL });
  expect((await ctx.get("/api/auth/csrf/")).ok()).toBeTruthy();
  // Signing in rotates the CSRF token: read the cookie afresh for every write, as the console does.
  const headers = async () => {
    const cookies = (await ctx.storageState()).cookies;
    const token = cookies.find((cookie) => cookie.name === "csrftoken")?.value ?? "";
    return { "X-CSRFToken": token, Referer: baseURL + "/" };
  };
  const login = await ctx.post("/api/auth/session/", {
    data: { email: USERS[who], password: PASSWORD },
    headers: await headers(),
  });
  expect(login.ok(), await login.text()).toBeTruthy();
  // Set-up data for a spec: parsed JSON, typed loosely on purpose (specs read a field or two).
  const send = async (method: string, url: string, data?: unknown): Promise<any> => {
    const response = await ctx.fetch(url, { method, data, headers: await headers() });
    const body = await response.text();
    expect(response.ok(), `${method} ${url} -> ${response.status()} ${body}`).toBeTruthy();
    return body ? JSON.parse(body) : null;
  };
  return {
    ctx,
    get: (url: string) => send("GET", url),
    post: (url: string, data?: unknown) => send("POST", url, data),
    patch: (url: string, data?: unknown) => send("PATCH", url, data),
    del: (url: string) => send("DELETE", url),
    dispose: () => ctx.dispose(),
  };
}

/** Objects for the detail screens, looked up (or filed) as the demo admin: a FAR transfer filed
 * now for the Finance Team, the workflow with `workflowCode`, and the seeded case CASE-DEMO-1. */
export async function detailIds(
  baseURL: string,
  { transfer, workflowCode }: { transfer: { reference: string; amount: string; description: string }; workflowCode: string },
): Promise<{ transfer: number; workflow: number; demoCase: number }> {
  const seed = seedData();
  const admin = await apiAs("admin", baseURL);
  try {
    const filed = await admin.post("/api/approvals/transfers/", {
      security_group: seed.finance_group,
      transfer_type: "FAR",
      currency: "EUR",
      ...transfer,
    });
    const workflows = await admin.get(`/api/tenants/${seed.demo_tenant}/workflows/?code=${workflowCode}`);
    const cases = await admin.get("/api/cases/?search=CASE-DEMO-1");
    return { transfer: filed.transfer.id, workflow: workflows.results[0].id, demoCase: cases.results[0].id };
  } finally {
    await admin.dispose();
  }
}

/** Every spec's page fails its test on a browser console error or an uncaught exception.
 * A test that provokes an HTTP error on purpose (a 404 page, a 409) lists its status in
 * `allowHttpErrors`: Chromium logs each non-2xx fetch as a console error. */
export const test = base.extend<{
  allowHttpErrors: number[];
  consoleErrors: string[];
  finalShot: void;
}>({
  // Every test leaves a screenshot of where it ended (CI prints the folder), besides the
  // named shots of each screen.
  finalShot: [
    async ({ page }, use, testInfo) => {
      await use();
      const name = `${path.basename(testInfo.file, ".spec.ts")}--${testInfo.title}`
        .replace(/[^A-Za-z0-9-]+/g, "-")
        .slice(0, 120);
      if (!page.isClosed()) await page.screenshot({ path: path.join(ARTIFACTS, "tests", `${name}.png`) });
    },
    { auto: true },
  ],
  allowHttpErrors: [[], { option: true }],
  consoleErrors: [
    async ({ page, allowHttpErrors }, use) => {
      const errors: string[] = [];
      page.on("console", (message) => {
        if (message.type() !== "error") return;
        const text = message.text();
        const status = text.match(/status of (\d{3})/)?.[1];
        if (status && allowHttpErrors.includes(Number(status))) return;
        errors.push(text);
      });
      page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
      await use(errors);
      expect(errors, "errors in the browser console").toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };
