// The part of a failed write that belongs to no field shown: a 403, 409 or 5xx in words, or a
// 400's messages for fields the form has no control for. Field messages go next to the field.
import { ApiError } from "../../api/client";
import { ErrorMessage } from "../../components/States";

export function FormProblem({ error, shown }: { error: unknown; shown: readonly string[] }) {
  if (!error) return null;
  if (!(error instanceof ApiError) || error.status !== 400) return <ErrorMessage error={error} />;
  const others = Object.entries(error.fields).filter(([name]) => !shown.includes(name));
  if (others.length === 0) {
    return (
      <p className="error-message" role="alert">
        Check the fields marked below.
      </p>
    );
  }
  return (
    <div className="error-message" role="alert">
      {others.map(([name, messages]) => (
        <p key={name}>
          {name === "detail" || name === "non_field_errors" ? "" : `${name}: `}
          {messages.join(" ")}
        </p>
      ))}
    </div>
  );
}

/** A 400's message for one field, if the error is one. */
export function fieldMessage(error: unknown, name: string): string | undefined {
  return error instanceof ApiError && error.status === 400 ? error.field(name) : undefined;
}
