import { describe, expect, it } from "vitest";

import { MAX_ORDER, planReorder, type Ordered } from "./reorder";

/** Applies the writes one by one as the server does, refusing an order another step holds. */
function apply(current: Ordered[], writes: { id: number; order: number }[]): Map<number, number> {
  const orders = new Map(current.map((s) => [s.id, s.order]));
  for (const { id, order } of writes) {
    for (const [other, taken] of orders) {
      if (other !== id && taken === order) throw new Error(`order ${order} is taken by ${other}`);
    }
    if (order < 0 || order > MAX_ORDER) throw new Error(`order ${order} out of range`);
    orders.set(id, order);
  }
  return orders;
}

function sequence(orders: Map<number, number>): number[] {
  return [...orders].sort((a, b) => a[1] - b[1]).map(([id]) => id);
}

describe("planReorder", () => {
  const steps = [
    { id: 1, order: 0 },
    { id: 2, order: 1 },
    { id: 3, order: 2 },
    { id: 4, order: 3 },
  ];

  it("writes nothing when nothing moved", () => {
    expect(planReorder(steps, steps)).toEqual([]);
  });

  it("swaps two neighbours in three writes through a free order", () => {
    const writes = planReorder(steps, [steps[0]!, steps[2]!, steps[1]!, steps[3]!]);
    expect(writes).toEqual([
      { id: 3, order: 4 },
      { id: 2, order: 2 },
      { id: 3, order: 1 },
    ]);
  });

  it("reaches every permutation without ever taking an order in use", () => {
    const ids = [1, 2, 3, 4];
    const perms = (xs: number[]): number[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x) => perms(xs.filter((y) => y !== x)).map((p) => [x, ...p]));
    for (const perm of perms(ids)) {
      const next = perm.map((id) => ({ id }));
      expect(sequence(apply(steps, planReorder(steps, next)))).toEqual(perm);
    }
  });

  it("keeps the existing order values, gaps included, and uses a low free one near the limit", () => {
    const gappy = [
      { id: 1, order: 10 },
      { id: 2, order: 20 },
      { id: 3, order: MAX_ORDER },
    ];
    const writes = planReorder(gappy, [{ id: 3 }, { id: 1 }, { id: 2 }]);
    const result = apply(gappy, writes);
    expect([...result]).toEqual([
      [1, 20],
      [2, MAX_ORDER],
      [3, 10],
    ]);
    expect(writes[0]).toEqual({ id: 3, order: 0 });
  });
});
