// Test-only: Node's Request (undici) refuses a relative URL such as "/api/actions/", which is
// what the console's openapi-fetch client builds (baseUrl ""). A browser resolves it against
// the page; this does the same against jsdom's location. Import it FIRST in a test file, before
// anything that imports api/client.ts (openapi-fetch captures Request when the client is made).
// Belongs in src/test/setup.ts; kept here because that file is shared.
const Base = globalThis.Request;

class RelativeRequest extends Base {
  static readonly resolvesRelative = true;

  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, globalThis.location?.href ?? "http://localhost/") : input, init);
  }
}

if (!("resolvesRelative" in Base)) globalThis.Request = RelativeRequest as typeof Request;
