// Persisting a new step order through PATCH /api/workflows/{id}/steps/{step_id}/ {"order"}.
//
// The API has no bulk reorder: each PATCH is its own transaction, and the service refuses an
// `order` another step of the workflow holds at that moment (services.step_update ->
// _check_order_free, a 400 on `order`; the deferred unique constraint only helps inside one
// transaction, which a client cannot span). So the new order is written as a sequence in
// which no write ever targets a taken order:
//  - the steps keep the same SET of order values (the sorted current ones), dealt out in the
//    new sequence, so unmoved steps are not written at all;
//  - the moved steps form cycles (A takes B's order, B takes C's, ..., Z takes A's). Each cycle
//    is written as: its first step to a free temporary order (above every order in use), then
//    each step into the order just vacated, then the first step from the temporary order to
//    its final one. k + 1 writes for a cycle of k steps; swapping two neighbours is 3 writes.
// A failure part-way leaves a valid (if unfinished) order; the list is then reloaded from the
// server, and a run in flight is never affected (runs pin a snapshot of their steps).

export interface Ordered {
  id: number;
  order: number;
}

export interface OrderWrite {
  id: number;
  order: number;
}

/** The largest `order` the API accepts (StepInputSerializer). */
export const MAX_ORDER = 1_000_000;

/** The orders each step should end with: the current set of orders, in the new sequence. */
export function finalOrders(current: readonly Ordered[], next: readonly { id: number }[]): Map<number, number> {
  const orders = current.map((s) => s.order).sort((a, b) => a - b);
  return new Map(next.map((s, i) => [s.id, orders[i]!]));
}

/** The PATCHes, in the order to send them, that take `current` to the sequence `next`. */
export function planReorder(current: readonly Ordered[], next: readonly { id: number }[]): OrderWrite[] {
  const final = finalOrders(current, next);
  const now = new Map(current.map((s) => [s.id, s.order]));
  // Who should end up at each order value.
  const target = new Map<number, number>();
  for (const [id, order] of final) target.set(order, id);
  const used = new Set(current.map((s) => s.order));
  const temp = freeOrder(used);

  const writes: OrderWrite[] = [];
  const done = new Set<number>();
  for (const s of next) {
    if (done.has(s.id) || final.get(s.id) === now.get(s.id)) continue;
    // A cycle: park its first step, then fill each vacated order with the step meant for it.
    writes.push({ id: s.id, order: temp });
    done.add(s.id);
    let vacated = now.get(s.id)!;
    for (;;) {
      const mover = target.get(vacated)!;
      if (mover === s.id) break;
      writes.push({ id: mover, order: vacated });
      done.add(mover);
      vacated = now.get(mover)!;
    }
    writes.push({ id: s.id, order: final.get(s.id)! });
  }
  return writes;
}

/** An order no step holds: above them all, or the lowest free one if that would be too high. */
function freeOrder(used: Set<number>): number {
  const above = Math.max(-1, ...used) + 1;
  if (above <= MAX_ORDER) return above;
  let n = 0;
  while (used.has(n)) n += 1;
  return n;
}

/** Sends the writes one by one (each must see the previous one committed). */
export async function persistOrder(
  writes: readonly OrderWrite[],
  patch: (write: OrderWrite) => Promise<unknown>,
): Promise<void> {
  for (const write of writes) await patch(write);
}
