// Test-only: Node's Request refuses the relative URLs the API client builds (baseUrl ""), which
// a browser resolves against the page. Imported first by a component test that uses the API
// client, since openapi-fetch captures `Request` when src/api/client.ts is first evaluated.
// (The same shim as the inbox's; a shared one belongs in src/test/setup.ts.)
const NativeRequest = globalThis.Request;

class PageRequest extends NativeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, "http://localhost") : input, init);
  }
}

globalThis.Request = PageRequest;
