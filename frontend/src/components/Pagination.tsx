// Page links that live in the URL (?page=N), so every list is linkable.
import { useSearchParams } from "react-router";

export function usePage(): number {
  const [params] = useSearchParams();
  const page = Number(params.get("page") ?? "1");
  return Number.isInteger(page) && page > 0 ? page : 1;
}

/** URL search params as a filter object; setting one resets the page. */
export function useFilters<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const values = Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ""])) as Record<K, string>;
  const set = (key: K, value: string) => {
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      if (value) next.set(key, value);
      else next.delete(key);
      next.delete("page");
      return next;
    });
  };
  return [values, set] as const;
}

export function Pagination({
  count,
  pageSize,
  label,
}: {
  count: number;
  pageSize: number;
  label: string;
}) {
  const [, setParams] = useSearchParams();
  const page = usePage();
  const pages = Math.max(1, Math.ceil(count / pageSize));
  if (pages <= 1) return <p className="pagination-summary">{count} in all</p>;
  const go = (to: number) =>
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      next.set("page", String(to));
      return next;
    });
  return (
    <nav className="pagination" aria-label={`${label} pages`}>
      <button type="button" onClick={() => go(page - 1)} disabled={page <= 1}>
        Previous
      </button>
      <span aria-current="page">
        Page {page} of {pages} ({count} in all)
      </span>
      <button type="button" onClick={() => go(page + 1)} disabled={page >= pages}>
        Next
      </button>
    </nav>
  );
}
