// End-to-end: Debian's chromium (never a downloaded browser) against a real server on
// PostgreSQL that scripts/e2e.sh prepares. Specs run one at a time, in file order.
import { defineConfig } from "@playwright/test";

const port = Number(process.env.E2E_PORT ?? "8765");
export const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-artifacts/e2e-output",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    browserName: "chromium",
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
    viewport: { width: 1280, height: 800 },
    trace: "off",
    screenshot: "only-on-failure",
  },
  webServer: process.env.E2E_NO_SERVER
    ? undefined
    : {
        // The server's log goes to a file (CI prints its path) rather than between results.
        command: `../.venv/bin/python ../manage.py runserver --noreload 127.0.0.1:${port} > test-artifacts/e2e-server.log 2>&1`,
        url: `${baseURL}/healthz`,
        reuseExistingServer: false,
        timeout: 60_000,
        stdout: "ignore",
        stderr: "ignore",
      },
});
