import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => cleanup());

// Node's Request refuses the relative URLs the API client builds (baseUrl ""), which a browser
// resolves against the page; openapi-fetch builds a Request per call, so resolve them here.
const NativeRequest = globalThis.Request;
class PageRequest extends NativeRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === "string" ? new URL(input, "http://localhost") : input, init);
  }
}
globalThis.Request = PageRequest;
