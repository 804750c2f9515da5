// A workflow's own fields (workflows/api/serializers.py WorkflowInputSerializer): name
// (required, 200), description, code (letters, digits, _ - .; unique in the tenant; empty =
// none), transfer_type (same characters, 32; empty = any), is_active.
import { useId } from "react";
import { useForm } from "react-hook-form";

import { ApiError, type Schemas } from "../../api/client";
import { ErrorMessage, FieldError } from "../../components/States";
import type { Workflow } from "./queries";

export type WorkflowBody = Schemas["WorkflowInputRequest"];

interface Values {
  name: string;
  description: string;
  code: string;
  transfer_type: string;
  is_active: boolean;
}

const CODE = /^[A-Za-z0-9_.-]*$/;
const CODE_MESSAGE = "Use letters, digits, '_', '-' and '.' only.";

export function WorkflowDetailsForm({
  workflow,
  onSubmit,
  error,
  pending,
  submitLabel,
}: {
  workflow?: Workflow | undefined;
  onSubmit: (body: WorkflowBody) => unknown;
  error: unknown;
  pending: boolean;
  submitLabel: string;
}) {
  const id = useId();
  const { register, handleSubmit, formState } = useForm<Values>({
    defaultValues: {
      name: workflow?.name ?? "",
      description: workflow?.description ?? "",
      code: workflow?.code ?? "",
      transfer_type: workflow?.transfer_type ?? "",
      is_active: workflow?.is_active ?? true,
    },
  });
  const server = error instanceof ApiError && error.status === 400 ? error : null;
  const message = (field: keyof Values) => formState.errors[field]?.message ?? server?.field(field);
  const submit = handleSubmit((v) =>
    onSubmit({
      name: v.name.trim(),
      description: v.description,
      code: v.code.trim() || null,
      transfer_type: v.transfer_type.trim(),
      is_active: v.is_active,
    }),
  );
  const described = (field: keyof Values, help = false) =>
    [help ? `${id}-${field}-help` : "", message(field) ? `${id}-${field}-error` : ""].filter(Boolean).join(" ") ||
    undefined;
  const other = server
    ? Object.entries(server.fields)
        .filter(([key]) => !["name", "description", "code", "transfer_type", "is_active"].includes(key))
        .flatMap(([, messages]) => messages)
    : [];
  return (
    <form onSubmit={submit} noValidate aria-label="Workflow details">
      <label htmlFor={`${id}-name`}>Name</label>
      <input
        id={`${id}-name`}
        maxLength={200}
        {...register("name", { validate: (v) => v.trim() !== "" || "Give the workflow a name." })}
        aria-invalid={message("name") ? true : undefined}
        aria-describedby={described("name")}
      />
      <FieldError id={`${id}-name-error`} message={message("name")} />

      <label htmlFor={`${id}-description`}>Description</label>
      <textarea
        id={`${id}-description`}
        maxLength={10000}
        {...register("description")}
        aria-invalid={message("description") ? true : undefined}
        aria-describedby={described("description")}
      />
      <FieldError id={`${id}-description-error`} message={message("description")} />

      <div className="inline">
        <div>
          <label htmlFor={`${id}-code`}>Code</label>
          <input
            id={`${id}-code`}
            maxLength={64}
            {...register("code", { pattern: { value: CODE, message: CODE_MESSAGE } })}
            aria-invalid={message("code") ? true : undefined}
            aria-describedby={described("code", true)}
          />
        </div>
        <div>
          <label htmlFor={`${id}-transfer_type`}>Transfer type</label>
          <input
            id={`${id}-transfer_type`}
            maxLength={32}
            {...register("transfer_type", { pattern: { value: CODE, message: CODE_MESSAGE } })}
            aria-invalid={message("transfer_type") ? true : undefined}
            aria-describedby={described("transfer_type", true)}
          />
        </div>
      </div>
      <span className="muted step-help" id={`${id}-code-help`}>
        A code (e.g. FAR_WF_V1) makes the workflow a template that security groups can be assigned.
      </span>
      <FieldError id={`${id}-code-error`} message={message("code")} />
      <span className="muted step-help" id={`${id}-transfer_type-help`}>
        The kind of transfer it approves, e.g. FAR. Empty: none.
      </span>
      <FieldError id={`${id}-transfer_type-error`} message={message("transfer_type")} />

      <div className="checkbox-row">
        <input id={`${id}-active`} type="checkbox" {...register("is_active")} />
        <label htmlFor={`${id}-active`}>Active</label>
      </div>
      <FieldError id={`${id}-is_active-error`} message={message("is_active")} />

      {other.length > 0 && (
        <p className="error-message" role="alert">
          {other.join(" ")}
        </p>
      )}
      {!server && <ErrorMessage error={error} />}
      <div className="actions">
        <button type="submit" className="primary" disabled={pending}>
          {pending ? "Saving…" : submitLabel}
        </button>
      </div>
    </form>
  );
}
