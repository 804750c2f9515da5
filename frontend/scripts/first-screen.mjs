// Measures, and prints, how soon the console's first screen is interactive on a running server
// (CI runs it against `make run`, the embedded default), then signs in with a demo login and
// measures the inbox. Prints figures; asserts only that the screens appear.
// Usage: node scripts/first-screen.mjs http://127.0.0.1:8000 email password [screenshot.png]
import { chromium } from "playwright-core";

const [base, email, password, screenshot] = process.argv.slice(2);
if (!base || !email || !password) {
  console.error("usage: first-screen.mjs BASE_URL EMAIL PASSWORD [SCREENSHOT]");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(e.message));
  let started = Date.now();
  await page.goto(`${base}/`);
  await page.getByLabel("Email").waitFor({ state: "visible" });
  await page.getByLabel("Email").fill(email); // fillable means interactive
  const signIn = Date.now() - started;
  await page.getByLabel("Password").fill(password);
  started = Date.now();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Inbox" }).waitFor({ state: "visible" });
  await page.getByRole("button", { name: "Sign out" }).waitFor({ state: "visible" });
  const inbox = Date.now() - started;
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`console first screen (sign-in) interactive after ${signIn} ms; inbox after sign-in ${inbox} ms`);
  if (errors.length) {
    console.error(`errors in the browser console: ${errors.join(" | ")}`);
    process.exitCode = 1;
  }
} finally {
  await browser.close();
}
