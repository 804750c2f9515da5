// Create a transfer (its approval chain starts at once); the server's 400s next to their fields.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useForm, useWatch } from "react-hook-form";
import { Link, useNavigate } from "react-router";

import { ApiError, api, unwrap, type Schemas } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { can } from "../../auth/roles";
import { ErrorMessage, FieldError } from "../../components/States";
import { useSecurityGroups } from "./groups";
import "./transfers.css";

type Body = Schemas["TransferCreateInputRequest"];
type Values = {
  transfer_type: string;
  reference: string;
  amount: string;
  currency: string;
  security_group: string;
  description: string;
};
type Field = keyof Values;

const FIELDS: Field[] = ["transfer_type", "reference", "amount", "currency", "security_group", "description"];

function toBody(values: Values): Body {
  const group = Number(values.security_group);
  return {
    transfer_type: values.transfer_type.trim(),
    reference: values.reference.trim(),
    amount: values.amount.trim(),
    currency: values.currency.trim().toUpperCase(),
    description: values.description,
    ...(group > 0 ? { security_group: group } : {}),
  };
}

/** The transfer types the chosen group has workflows for, as suggestions. */
function useTransferTypes(groupId: number) {
  return useQuery({
    queryKey: ["workflow-assignments", groupId || "all"],
    queryFn: () =>
      unwrap(
        api.GET("/api/approvals/workflow-assignments/", {
          params: { query: groupId ? { security_group: groupId } : {} },
        }),
      ),
    select: (data) => [...new Set(data.assignments.filter((a) => a.is_active).map((a) => a.transfer_type))].sort(),
    staleTime: 60_000,
  });
}

export function TransferNewPage() {
  const me = useMe();
  if (!can.createTransfers(me.role)) {
    return (
      <section>
        <h1>New transfer</h1>
        <p className="state">Your role ({me.role}) may not create transfers.</p>
        <Link to="/transfers">Back to transfers</Link>
      </section>
    );
  }
  return <TransferForm />;
}

function TransferForm() {
  const navigate = useNavigate();
  const client = useQueryClient();
  const groups = useSecurityGroups();
  const { register, handleSubmit, control, formState } = useForm<Values>({
    defaultValues: {
      transfer_type: "",
      reference: "",
      amount: "",
      currency: "EUR",
      security_group: "",
      description: "",
    },
  });
  const chosenGroup = useWatch({ control, name: "security_group" });
  const types = useTransferTypes(Number(chosenGroup) || 0);
  const create = useMutation({
    mutationFn: (body: Body) => unwrap(api.POST("/api/approvals/transfers/", { body })),
    onSuccess: (data) => {
      void client.invalidateQueries({ queryKey: ["transfers"] });
      void client.invalidateQueries({ queryKey: ["tasks"] });
      client.setQueryData(["transfers", "detail", data.transfer.id], data);
      navigate(`/transfers/${data.transfer.id}`);
    },
  });
  const apiError = create.error instanceof ApiError ? create.error : null;
  const message = (field: Field) => formState.errors[field]?.message ?? apiError?.field(field);
  const describedBy = (field: Field, hint?: string) =>
    [hint, message(field) ? `transfer-${field}-error` : undefined].filter(Boolean).join(" ") || undefined;
  // The server's words that belong to no field of this form (e.g. "detail") go at the top.
  const otherError = apiError && !FIELDS.some((field) => apiError.field(field)) ? apiError : null;
  const activeGroups = (groups.data ?? []).filter((group) => group.is_active);

  return (
    <section className="transfer-form">
      <h1>New transfer</h1>
      <p className="muted">Its approval chain starts as soon as it is created.</p>
      <form onSubmit={handleSubmit((values) => create.mutate(toBody(values)))} noValidate>
        <ErrorMessage error={otherError} />
        <label htmlFor="transfer-security_group">Security group</label>
        <select
          id="transfer-security_group"
          {...register("security_group")}
          aria-invalid={message("security_group") ? true : undefined}
          aria-describedby={describedBy("security_group", "transfer-security_group-hint")}
        >
          <option value="">My only security group</option>
          {activeGroups.map((group) => (
            <option key={group.id} value={String(group.id)}>
              {group.name}
            </option>
          ))}
        </select>
        <span className="hint" id="transfer-security_group-hint">
          {groups.isError
            ? "The security groups could not be loaded."
            : "The group whose workflows approve it. You must be a member (an ADMIN may choose any)."}
        </span>
        <FieldError id="transfer-security_group-error" message={message("security_group")} />

        <label htmlFor="transfer-transfer_type">Transfer type</label>
        <input
          id="transfer-transfer_type"
          list="transfer-type-options"
          autoComplete="off"
          {...register("transfer_type", {
            required: "Give the transfer type.",
            pattern: { value: /^[A-Za-z0-9_.-]+$/, message: "Letters, digits, '.', '_' and '-' only." },
            maxLength: { value: 32, message: "At most 32 characters." },
          })}
          aria-invalid={message("transfer_type") ? true : undefined}
          aria-describedby={describedBy("transfer_type", "transfer-transfer_type-hint")}
        />
        <datalist id="transfer-type-options">
          {(types.data ?? []).map((type) => (
            <option key={type} value={type} />
          ))}
        </datalist>
        <span className="hint" id="transfer-transfer_type-hint">
          {types.data && types.data.length > 0
            ? `Types with workflows: ${types.data.join(", ")}.`
            : "A type that has workflows assigned to the group, e.g. FAR."}
        </span>
        <FieldError id="transfer-transfer_type-error" message={message("transfer_type")} />

        <label htmlFor="transfer-reference">Reference</label>
        <input
          id="transfer-reference"
          autoComplete="off"
          {...register("reference", {
            required: "Give a reference.",
            maxLength: { value: 64, message: "At most 64 characters." },
          })}
          aria-invalid={message("reference") ? true : undefined}
          aria-describedby={describedBy("reference")}
        />
        <FieldError id="transfer-reference-error" message={message("reference")} />

        <label htmlFor="transfer-amount">Amount</label>
        <input
          id="transfer-amount"
          inputMode="decimal"
          autoComplete="off"
          {...register("amount", {
            required: "Give the amount.",
            pattern: { value: /^\d+(\.\d{1,2})?$/, message: "A positive amount with at most 2 decimals, e.g. 1250.00." },
          })}
          aria-invalid={message("amount") ? true : undefined}
          aria-describedby={describedBy("amount")}
        />
        <FieldError id="transfer-amount-error" message={message("amount")} />

        <label htmlFor="transfer-currency">Currency</label>
        <input
          id="transfer-currency"
          autoComplete="off"
          maxLength={3}
          {...register("currency", {
            required: "Give the currency.",
            pattern: { value: /^[A-Za-z]{3}$/, message: "A three-letter ISO 4217 code, e.g. EUR." },
          })}
          aria-invalid={message("currency") ? true : undefined}
          aria-describedby={describedBy("currency", "transfer-currency-hint")}
        />
        <span className="hint" id="transfer-currency-hint">
          Three letters, e.g. EUR or USD.
        </span>
        <FieldError id="transfer-currency-error" message={message("currency")} />

        <label htmlFor="transfer-description">Description (optional)</label>
        <textarea
          id="transfer-description"
          {...register("description", { maxLength: { value: 5000, message: "At most 5000 characters." } })}
          aria-invalid={message("description") ? true : undefined}
          aria-describedby={describedBy("description")}
        />
        <FieldError id="transfer-description-error" message={message("description")} />

        <div className="actions">
          <button type="submit" className="primary" disabled={create.isPending}>
            {create.isPending ? "Creating…" : "Create transfer"}
          </button>
          <Link className="button" to="/transfers">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
