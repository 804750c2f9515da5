// Loading, empty and error states in words (never a blank area or a spinner alone).
import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";

import { ApiError } from "../api/client";

export function Loading({ what }: { what: string }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.summary;
  return "Something went wrong. Reload the page to try again.";
}

export function ErrorState({ error }: { error: unknown }) {
  const notFound = error instanceof ApiError && error.status === 404;
  return (
    <div className="state state-error" role="alert">
      <strong>{notFound ? "Not found" : "Could not load this"}</strong>
      <p>{errorText(error)}</p>
    </div>
  );
}

/** An error after a write: the server's words, next to the control that sent it. */
export function ErrorMessage({ error, id }: { error: unknown; id?: string }) {
  if (!error) return null;
  return (
    <p className="error-message" role="alert" id={id}>
      {errorText(error)}
    </p>
  );
}

/** A field's own message from a 400, linked to its input by aria-describedby. */
export function FieldError({ id, message }: { id: string; message?: string | undefined }) {
  if (!message) return null;
  return (
    <span className="field-error" id={id} role="alert">
      {message}
    </span>
  );
}

type QueryViewProps<T, E> = {
  query: UseQueryResult<T, E>;
  /** Words after "Loading …", e.g. "cases". */
  what: string;
  /** When the data counts as empty, `empty` is shown instead of the children. */
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  /** Replaces the default ErrorState, for errors a page explains in its own words. */
  error?: (error: E) => ReactNode;
  children: (data: T) => ReactNode;
};

/** One query's loading, error, empty and data states, in that order. */
export function QueryView<T, E>({ query, what, isEmpty, empty, error, children }: QueryViewProps<T, E>) {
  if (query.isPending) return <Loading what={what} />;
  if (query.isError) return error ? error(query.error) : <ErrorState error={query.error} />;
  if (isEmpty?.(query.data)) return <Empty>{empty}</Empty>;
  return children(query.data);
}
