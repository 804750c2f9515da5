// A step's form: name, action, and the action's settings, generated from the fields it declares
// (GET /api/actions/ `config_fields`, shaped by actionConfigFields.ts). An action we have no
// exact description for gets a raw JSON editor. The server's 400 messages appear next to the
// field they name (`config.url`, `config.approvers.security_group`...).
import { useId, useState } from "react";
import {
  useForm,
  useWatch,
  type Control,
  type UseFormRegister,
} from "react-hook-form";

import { ApiError } from "../api/client";
import {
  ROLES,
  fieldsFor,
  isObject,
  type Action,
  type ConfigField,
} from "./actionConfigFields";
import { useSecurityGroups, useTenantUsers } from "./stepConfigQueries";
import { ErrorMessage, FieldError } from "./States";

/** One config field's inputs. Every field has the same shape so form paths stay typed. */
export interface FieldState {
  value: string; // text, url, integer, choice
  checked: boolean; // boolean
  mode: string; // approvers / recipients: which kind of reference
  group: string; // a security group id
  role: string;
  ids: string[]; // users picked from the list
  list: string; // comma-separated user ids or emails
}

export interface StepFormValues {
  name: string;
  action: string;
  config: Record<string, FieldState>;
  raw: string;
}

/** What the form submits: the step's body, config built as the API expects it. */
export interface StepDraft {
  name: string;
  action: string;
  config: Record<string, unknown>;
}

export interface StepConfigFormProps {
  actions: Action[];
  initial?: { name: string; action: string; config: unknown } | undefined;
  onSubmit: (draft: StepDraft) => unknown;
  /** The last write's error: a 400's messages go next to their fields. */
  error?: unknown;
  pending?: boolean;
  submitLabel: string;
  onCancel?: () => void;
  /** The form's accessible name, e.g. "Add a step". */
  title: string;
  tenantId: number | null;
  /** May this role list users? Otherwise named approvers are typed as ids. */
  canReadUsers: boolean;
}

export function StepConfigForm({
  actions,
  initial,
  onSubmit,
  error,
  pending = false,
  submitLabel,
  onCancel,
  title,
  tenantId,
  canReadUsers,
}: StepConfigFormProps) {
  const id = useId();
  const [defaults] = useState(() => initialValues(actions, initial));
  const { register, handleSubmit, control, setValue, formState } = useForm<StepFormValues>({
    defaultValues: defaults,
  });
  const actionKey = useWatch({ control, name: "action" });
  const action = actions.find((a) => a.key === actionKey);
  const fields = fieldsFor(action);
  // A 400 speaks of the action it was sent for: after switching action it no longer applies.
  const [sentAction, setSentAction] = useState<string | null>(null);
  const server = error instanceof ApiError && error.status === 400 && sentAction === actionKey ? error : null;

  const submit = handleSubmit(async (values) => {
    setSentAction(values.action);
    const chosen = actions.find((a) => a.key === values.action);
    const chosenFields = fieldsFor(chosen);
    const config = chosenFields
      ? toConfig(chosenFields, values.config, canReadUsers)
      : (JSON.parse(values.raw) as Record<string, unknown>);
    await onSubmit({ name: values.name.trim(), action: values.action, config });
  });

  const shown = new Set(["name", "action", ...(fields ?? []).map((f) => `config.${f.key}`)]);
  if (!fields) shown.add("config");
  const leftover = server
    ? Object.entries(server.fields)
        .filter(([key]) => ![...shown].some((s) => key === s || key.startsWith(`${s}.`)))
        .map(([key, messages]) => `${fieldName(key)}${messages.join(" ")}`)
    : [];

  const nameError = formState.errors.name?.message ?? server?.field("name");
  const actionError = server?.field("action");
  return (
    <form className="step-form" aria-label={title} onSubmit={submit} noValidate>
      <label htmlFor={`${id}-name`}>Step name</label>
      <input
        id={`${id}-name`}
        {...register("name", {
          validate: (v) => v.trim() !== "" || "Give the step a name.",
        })}
        aria-invalid={nameError ? true : undefined}
        aria-describedby={nameError ? `${id}-name-error` : undefined}
        maxLength={200}
      />
      <FieldError id={`${id}-name-error`} message={nameError} />

      <label htmlFor={`${id}-action`}>Action</label>
      <select
        id={`${id}-action`}
        {...register("action", {
          onChange: (event: { target: { value: string } }) => {
            const next = actions.find((a) => a.key === event.target.value);
            // A raw editor starts from the new action's defaults, not the old one's settings.
            if (next && !fieldsFor(next)) {
              setValue("raw", JSON.stringify(next.config_defaults, null, 2));
            }
          },
        })}
        aria-invalid={actionError ? true : undefined}
        aria-describedby={`${id}-action-help${actionError ? ` ${id}-action-error` : ""}`}
      >
        {actions.map((a) => (
          <option key={a.key} value={a.key}>
            {a.label}
          </option>
        ))}
      </select>
      <span className="muted step-help" id={`${id}-action-help`}>
        {action ? `${action.description} (${action.kind === "human" ? "a person acts" : "runs by itself"})` : ""}
      </span>
      <FieldError id={`${id}-action-error`} message={actionError} />

      <fieldset className="step-config">
        <legend>Settings{action ? ` for ${action.label}` : ""}</legend>
        {fields === null ? (
          <RawEditor id={id} register={register} error={formState.errors.raw?.message ?? messagesAt(server, "config")} actions={actions} />
        ) : fields.length === 0 ? (
          <p className="muted">This action has nothing to configure.</p>
        ) : (
          <ConfigFields
            id={id}
            fields={fields}
            register={register}
            control={control}
            server={server}
            tenantId={tenantId}
            canReadUsers={canReadUsers}
          />
        )}
      </fieldset>

      {leftover.length > 0 && (
        <div className="error-message" role="alert">
          {leftover.map((message) => (
            <p key={message}>{message}</p>
          ))}
        </div>
      )}
      {!(error instanceof ApiError && error.status === 400) && <ErrorMessage error={error} />}
      <div className="actions">
        <button type="submit" className="primary" disabled={pending}>
          {pending ? "Saving…" : submitLabel}
        </button>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}

function fieldName(key: string): string {
  if (key === "detail" || key === "non_field_errors") return "";
  return `${key.replace(/^config\./, "").replace(/\.non_field_errors$/, "")}: `;
}

/** All of a 400's messages at `path` or under it (`config.approvers.role`...). */
export function messagesAt(error: ApiError | null, path: string): string | undefined {
  if (!error) return undefined;
  const found = Object.entries(error.fields)
    .filter(([key]) => key === path || key.startsWith(`${path}.`))
    .flatMap(([, messages]) => messages);
  return found.length ? found.join(" ") : undefined;
}

function RawEditor({
  id,
  register,
  error,
  actions,
}: {
  id: string;
  register: UseFormRegister<StepFormValues>;
  error: string | undefined;
  actions: Action[];
}) {
  return (
    <>
      <p className="muted" id={`${id}-raw-help`}>
        The console has no form for this action&apos;s settings: edit them as a JSON object.
      </p>
      <label htmlFor={`${id}-raw`}>Settings as JSON</label>
      <textarea
        id={`${id}-raw`}
        className="mono"
        rows={8}
        {...register("raw", {
          validate: (value, all) => {
            // Only the raw editor's action is checked: the others build their JSON themselves.
            if (fieldsFor(actions.find((a) => a.key === all.action))) return true;
            try {
              return isObject(JSON.parse(value)) || "Give a JSON object, e.g. {}.";
            } catch {
              return "This is not valid JSON.";
            }
          },
        })}
        aria-invalid={error ? true : undefined}
        aria-describedby={`${id}-raw-help${error ? ` ${id}-raw-error` : ""}`}
      />
      <FieldError id={`${id}-raw-error`} message={error} />
    </>
  );
}

function ConfigFields({
  id,
  fields,
  register,
  control,
  server,
  tenantId,
  canReadUsers,
}: {
  id: string;
  fields: readonly ConfigField[];
  register: UseFormRegister<StepFormValues>;
  control: Control<StepFormValues>;
  server: ApiError | null;
  tenantId: number | null;
  canReadUsers: boolean;
}) {
  const config = useWatch({ control, name: "config" });
  return (
    <>
      {fields
        .filter((f) => !f.when || config[f.when.key]?.value === f.when.equals)
        .map((field) => {
          const fid = `${id}-${field.key}`;
          const message = messagesAt(server, `config.${field.key}`);
          const describedBy =
            [field.help ? `${fid}-help` : "", message ? `${fid}-error` : ""].filter(Boolean).join(" ") ||
            undefined;
          const common = { fid, message, describedBy };
          return (
            <div key={field.key} className="config-field">
              <FieldInput
                field={field}
                register={register}
                state={config[field.key]}
                tenantId={tenantId}
                canReadUsers={canReadUsers}
                {...common}
              />
              {field.help && (
                <span className="muted step-help" id={`${fid}-help`}>
                  {field.help}
                </span>
              )}
              <FieldError id={`${fid}-error`} message={message} />
            </div>
          );
        })}
    </>
  );
}

function FieldInput({
  field,
  register,
  state,
  fid,
  message,
  describedBy,
  tenantId,
  canReadUsers,
}: {
  field: ConfigField;
  register: UseFormRegister<StepFormValues>;
  state: FieldState | undefined;
  fid: string;
  message: string | undefined;
  describedBy: string | undefined;
  tenantId: number | null;
  canReadUsers: boolean;
}) {
  const path = `config.${field.key}` as const;
  const invalid = message ? true : undefined;
  switch (field.kind) {
    case "text":
    case "url":
      return (
        <>
          <label htmlFor={fid}>{field.label}</label>
          <input
            id={fid}
            type={field.kind === "url" ? "url" : "text"}
            {...register(`${path}.value`)}
            aria-invalid={invalid}
            aria-describedby={describedBy}
          />
        </>
      );
    case "textarea":
      return (
        <>
          <label htmlFor={fid}>{field.label}</label>
          <textarea id={fid} rows={5} {...register(`${path}.value`)} aria-invalid={invalid} aria-describedby={describedBy} />
        </>
      );
    case "integer":
      return (
        <>
          <label htmlFor={fid}>{field.label}</label>
          <input
            id={fid}
            type="number"
            inputMode="numeric"
            min={field.min}
            max={field.max}
            step={1}
            className="narrow"
            {...register(`${path}.value`)}
            aria-invalid={invalid}
            aria-describedby={describedBy}
          />
        </>
      );
    case "boolean":
      return (
        <div className="checkbox-row">
          <input
            id={fid}
            type="checkbox"
            {...register(`${path}.checked`)}
            aria-invalid={invalid}
            aria-describedby={describedBy}
          />
          <label htmlFor={fid}>{field.label}</label>
        </div>
      );
    case "choice":
      return (
        <>
          <label htmlFor={fid}>{field.label}</label>
          <select id={fid} {...register(`${path}.value`)} aria-invalid={invalid} aria-describedby={describedBy}>
            {field.choices.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </>
      );
    case "approvers":
    case "recipients":
      return (
        <WhoPicker
          field={field}
          register={register}
          state={state}
          fid={fid}
          describedBy={describedBy}
          tenantId={tenantId}
          canReadUsers={canReadUsers}
        />
      );
  }
}

const APPROVER_MODES = [
  ["default", "The subject's own (a transfer's security group; otherwise the supervisors)"],
  ["security_group", "A security group"],
  ["role", "Everyone with a role"],
  ["users", "Named users"],
] as const;
const RECIPIENT_MODES = [
  ["role", "Everyone with a role"],
  ["security_group", "A security group's members"],
  ["emails", "Email addresses"],
] as const;

/** Approvers or email recipients: exactly one kind of reference, as the API wants. */
function WhoPicker({
  field,
  register,
  state,
  fid,
  describedBy,
  tenantId,
  canReadUsers,
}: {
  field: ConfigField;
  register: UseFormRegister<StepFormValues>;
  state: FieldState | undefined;
  fid: string;
  describedBy: string | undefined;
  tenantId: number | null;
  canReadUsers: boolean;
}) {
  const path = `config.${field.key}` as const;
  const mode = state?.mode ?? "";
  const modes = field.kind === "approvers" ? APPROVER_MODES : RECIPIENT_MODES;
  const groups = useSecurityGroups(mode === "security_group");
  const users = useTenantUsers(tenantId, mode === "users" && canReadUsers);
  return (
    <fieldset aria-describedby={describedBy}>
      <legend>{field.label}</legend>
      {modes.map(([value, label]) => (
        <div className="checkbox-row" key={value}>
          <input id={`${fid}-mode-${value}`} type="radio" value={value} {...register(`${path}.mode`)} />
          <label htmlFor={`${fid}-mode-${value}`}>{label}</label>
        </div>
      ))}
      {mode === "security_group" && (
        <>
          <label htmlFor={`${fid}-group`}>Security group</label>
          <select id={`${fid}-group`} {...register(`${path}.group`)}>
            <option value="">
              {groups.isPending ? "Loading security groups…" : "Choose a security group"}
            </option>
            {groups.data?.security_groups.map((g) => (
              <option key={g.id} value={String(g.id)}>
                {g.name}
                {g.is_active ? "" : " (inactive)"}
              </option>
            ))}
            {/* A saved group beyond the first page still shows as itself. */}
            {state?.group &&
              groups.data &&
              !groups.data.security_groups.some((g) => String(g.id) === state.group) && (
                <option value={state.group}>Security group #{state.group}</option>
              )}
          </select>
          {groups.isError && <ErrorMessage error={groups.error} />}
        </>
      )}
      {mode === "role" && (
        <>
          <label htmlFor={`${fid}-role`}>Role</label>
          <select id={`${fid}-role`} {...register(`${path}.role`)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </>
      )}
      {mode === "users" && canReadUsers && (
        <fieldset className="user-picker">
          <legend>Users</legend>
          {users.isPending && <p className="muted">Loading users…</p>}
          {users.isError && <ErrorMessage error={users.error} />}
          {users.data?.results
            .filter((u) => u.is_active)
            .map((u) => (
              <div className="checkbox-row" key={u.id}>
                <input id={`${fid}-user-${u.id}`} type="checkbox" value={String(u.id)} {...register(`${path}.ids`)} />
                <label htmlFor={`${fid}-user-${u.id}`}>
                  {u.full_name || u.email} <span className="muted">({u.role})</span>
                </label>
              </div>
            ))}
        </fieldset>
      )}
      {((mode === "users" && !canReadUsers) || mode === "emails") && (
        <>
          <label htmlFor={`${fid}-list`}>
            {mode === "emails" ? "Email addresses (comma-separated)" : "User ids (comma-separated)"}
          </label>
          <input id={`${fid}-list`} {...register(`${path}.list`)} />
        </>
      )}
    </fieldset>
  );
}

// --- config <-> form state -----------------------------------------------------------------

function emptyState(): FieldState {
  return { value: "", checked: false, mode: "", group: "", role: "SUPERVISOR", ids: [], list: "" };
}

function stateFrom(field: ConfigField, value: unknown): FieldState {
  const state = emptyState();
  switch (field.kind) {
    case "text":
    case "textarea":
    case "url":
      state.value = typeof value === "string" ? value : "";
      break;
    case "integer":
      // reject_rule's "first" is one rejection.
      state.value = typeof value === "number" ? String(value) : value === "first" ? "1" : "";
      break;
    case "boolean":
      state.checked = value === true;
      break;
    case "choice":
      state.value = typeof value === "string" ? value : (field.choices[0]?.value ?? "");
      break;
    case "approvers":
    case "recipients": {
      state.mode = field.kind === "approvers" ? "default" : "role";
      if (!isObject(value)) break;
      if (value.default === true) state.mode = "default";
      else if (typeof value.security_group === "number") {
        state.mode = "security_group";
        state.group = String(value.security_group);
      } else if (typeof value.role === "string") {
        state.mode = "role";
        state.role = value.role;
      } else if (Array.isArray(value.users)) {
        state.mode = "users";
        state.ids = value.users.map(String);
        state.list = value.users.join(", ");
      } else if (Array.isArray(value.emails)) {
        state.mode = "emails";
        state.list = value.emails.join(", ");
      }
      break;
    }
  }
  return state;
}

/** Every known action's fields, from the step's config for its own action and from the
 * defaults for the others, so switching actions back and forth loses nothing typed. */
export function initialValues(
  actions: Action[],
  initial?: { name: string; action: string; config: unknown },
): StepFormValues {
  const actionKey = initial?.action ?? actions.find((a) => a.key === "approval")?.key ?? actions[0]?.key ?? "";
  const config: Record<string, FieldState> = {};
  for (const action of actions) {
    const own = initial?.action === action.key && isObject(initial.config) ? initial.config : {};
    const source = { ...action.config_defaults, ...own };
    for (const field of fieldsFor(action) ?? []) config[field.key] = stateFrom(field, source[field.key]);
  }
  const chosen = actions.find((a) => a.key === actionKey);
  const raw = initial?.action === actionKey && isObject(initial.config) ? initial.config : (chosen?.config_defaults ?? {});
  return { name: initial?.name ?? "", action: actionKey, config, raw: JSON.stringify(raw, null, 2) };
}

function splitList(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Ids as numbers; anything else is sent as typed so the server names what is wrong. */
function toId(text: string): number | string | null {
  if (text === "") return null;
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** The config JSON for `fields` from the form's state. Empty optional inputs are left out, so
 * the server applies its defaults (and names a missing required key, e.g. a webhook's URL). */
export function toConfig(
  fields: readonly ConfigField[],
  state: Record<string, FieldState>,
  canReadUsers: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const s = state[field.key] ?? emptyState();
    if (field.when && state[field.when.key]?.value !== field.when.equals) continue;
    switch (field.kind) {
      case "text":
      case "textarea":
      case "url":
        if (s.value.trim() !== "") out[field.key] = field.kind === "url" ? s.value.trim() : s.value;
        break;
      case "integer":
        if (s.value.trim() !== "") out[field.key] = toId(s.value.trim());
        break;
      case "boolean":
        out[field.key] = s.checked;
        break;
      case "choice":
        if (s.value !== "") out[field.key] = s.value; // "": left out, the server's default
        break;
      case "approvers":
      case "recipients":
        out[field.key] = whoConfig(s, canReadUsers);
        break;
    }
  }
  return out;
}

function whoConfig(s: FieldState, canReadUsers: boolean): Record<string, unknown> {
  switch (s.mode) {
    case "default":
      return { default: true };
    case "security_group":
      return { security_group: toId(s.group) };
    case "role":
      return { role: s.role };
    case "users":
      return { users: (canReadUsers ? s.ids : splitList(s.list)).map(toId) };
    case "emails":
      return { emails: splitList(s.list) };
    default:
      return {};
  }
}
