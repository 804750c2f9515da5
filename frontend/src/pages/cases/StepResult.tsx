// A finished step's result (the form's data, an approval's decision, an action's answer). The
// run endpoint does not return it; the step's audit entries do, and only ADMIN and SUPERVISOR
// may read those, so other roles are not offered it.
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../../api/client";
import { formatValue } from "../audit/diff";

function resultOf(row: unknown): Record<string, unknown> | null {
  if (!row || typeof row !== "object" || !("result" in row)) return null;
  const result = (row as { result: unknown }).result;
  return result && typeof result === "object" && !Array.isArray(result)
    ? (result as Record<string, unknown>)
    : null;
}

/** `{"decision": "completed", "data": {"risk_level": "high"}}` as [label, value] pairs. */
export function resultPairs(result: Record<string, unknown>): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [key, value] of Object.entries(result)) {
    if (key === "data" && value && typeof value === "object" && !Array.isArray(value)) {
      for (const [field, inner] of Object.entries(value)) pairs.push([field, formatValue(inner)]);
    } else {
      pairs.push([key, formatValue(value)]);
    }
  }
  return pairs;
}

export function StepResult({ stepId, status }: { stepId: number; status: string }) {
  const latest = useQuery({
    // The status in the key: a retried step that finishes again has a new result.
    queryKey: ["audit", { object_type: "workflows.steprun", object_id: stepId, page_size: 1 }, status],
    queryFn: () =>
      unwrap(
        api.GET("/api/audit-log/", {
          params: { query: { object_type: "workflows.steprun", object_id: stepId, page_size: 1 } },
        }),
      ),
    staleTime: Infinity,
  });
  if (latest.isPending) return <p className="step-meta">Loading the result…</p>;
  if (latest.isError) return <p className="step-meta">The result could not be loaded.</p>;
  const result = resultOf(latest.data.results[0]?.new_data);
  const pairs = result ? resultPairs(result) : [];
  if (pairs.length === 0) return null;
  return (
    <div role="group" aria-label="Result">
      <dl className="step-data">
        {pairs.map(([label, value]) => (
          <div key={label} className="step-data-item">
            <dt>{label.replace(/_/g, " ")}:</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
