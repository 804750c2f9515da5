// A run's `history` is typed loosely by the schema (a list of objects); these are the fields the
// server's TransitionSerializer writes, read with checks rather than trusted.
export interface Transition {
  object_type: string;
  object_id: number;
  from_status: string;
  to_status: string;
  actor: number | null;
  comment: string;
  created_at: string;
}

function asTransition(item: Record<string, unknown>): Transition | null {
  const { object_type, object_id, from_status, to_status, actor, comment, created_at } = item;
  if (typeof object_type !== "string" || typeof object_id !== "number") return null;
  if (typeof to_status !== "string" || typeof created_at !== "string") return null;
  return {
    object_type,
    object_id,
    from_status: typeof from_status === "string" ? from_status : "",
    to_status,
    actor: typeof actor === "number" ? actor : null,
    comment: typeof comment === "string" ? comment : "",
    created_at,
  };
}

export function transitions(history: readonly Record<string, unknown>[]): Transition[] {
  return history.map(asTransition).filter((t): t is Transition => t !== null);
}

/** The latest change of one step: who moved it to its present status, and when. */
export function lastStepChange(all: Transition[], stepId: number): Transition | undefined {
  return all.filter((t) => t.object_type === "step_run" && t.object_id === stepId).at(-1);
}
