// Test data shared by the component tests: the signed-in user and the API's page shapes.
import type { Schemas } from "../api/client";

type Me = Schemas["Me"];

/** GET /api/auth/session/'s user: Ada Admin (id 1) of the demo tenant unless told otherwise. */
export function me(role: Me["role"], overrides: Partial<Me> = {}): Me {
  return {
    id: 1,
    email: "admin@demo.example",
    full_name: "Ada Admin",
    tenant: 1,
    role,
    is_active: true,
    created_at: "2026-01-01T00:00:00Z",
    tenant_name: "Demo Helpline",
    tenant_slug: "demo",
    is_staff: false,
    ...overrides,
  };
}

/** One page of a paginated list (count, next, previous, results), all on this page by default. */
export function pageOf<T>(results: T[], count = results.length) {
  return { count, next: null, previous: null, results };
}

/** One page of an approvals envelope, whose items are under their own key (`members`, ...). */
export function envelopeOf<K extends string, T>(key: K, items: T[], count = items.length) {
  return { success: true, count, next: null, previous: null, [key]: items } as {
    success: boolean;
    count: number;
    next: null;
    previous: null;
  } & Record<K, T[]>;
}
