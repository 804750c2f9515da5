// Open a case (POST /api/cases/): the create serializer's fields; a 400's messages next to them.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useForm } from "react-hook-form";
import { useNavigate } from "react-router";

import { api, unwrap, type Schemas } from "../../api/client";
import { useMe } from "../../auth/AuthContext";
import { LabelOptions } from "../../components/LabelOptions";
import { FieldError } from "../../components/States";
import { useTenantUsers, userLabel } from "../audit/people";
import { FormProblem, fieldMessage } from "./FormProblem";
import { PRIORITIES } from "./labels";

interface Values {
  reference: string;
  title: string;
  description: string;
  priority: Schemas["PriorityEnum"];
  assignee: string;
  data: string;
}

const FIELDS = ["reference", "title", "description", "priority", "assignee", "data"] as const;

function parseData(text: string): Record<string, unknown> | undefined {
  if (!text.trim()) return undefined;
  return JSON.parse(text) as Record<string, unknown>;
}

function dataProblem(text: string): true | string {
  if (!text.trim()) return true;
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return true;
  } catch {
    // falls through to the message
  }
  return 'Write a JSON object, e.g. {"channel": "phone"}, or leave it empty.';
}

export function CaseCreateForm({ onCancel }: { onCancel: () => void }) {
  const me = useMe();
  const users = useTenantUsers();
  const client = useQueryClient();
  const navigate = useNavigate();
  const form = useForm<Values>({
    defaultValues: { reference: "", title: "", description: "", priority: "normal", assignee: "", data: "" },
  });
  const { errors } = form.formState;
  const create = useMutation({
    mutationFn: (values: Values) => {
      const body: Schemas["CaseCreateInputRequest"] = {
        title: values.title,
        description: values.description,
        priority: values.priority,
        assignee: values.assignee ? Number(values.assignee) : null,
      };
      if (values.reference.trim()) body.reference = values.reference.trim();
      const data = parseData(values.data);
      if (data) body.data = data;
      return unwrap(api.POST("/api/cases/", { body }));
    },
    onSuccess: (created) => {
      void client.invalidateQueries({ queryKey: ["cases"] });
      client.setQueryData(["case", created.id], created);
      navigate(`/cases/${created.id}`);
    },
  });
  const message = (name: (typeof FIELDS)[number]) =>
    errors[name]?.message || fieldMessage(create.error, name);
  const described = (name: string, has: boolean) => (has ? { "aria-describedby": `case-${name}-error`, "aria-invalid": true } : {});
  const others = (users.data?.results ?? []).filter((u) => u.id !== me.id && u.is_active);

  return (
    <form onSubmit={form.handleSubmit((values) => create.mutate(values))} noValidate>
      <FormProblem error={create.error} shown={FIELDS} />
      <label htmlFor="case-title">Title</label>
      <input id="case-title" {...form.register("title", { required: "Give the case a title." })} {...described("title", !!message("title"))} />
      <FieldError id="case-title-error" message={message("title")} />

      <label htmlFor="case-reference">Reference (optional)</label>
      <input id="case-reference" aria-describedby="case-reference-help" {...form.register("reference")} {...described("reference", !!message("reference"))} />
      <span id="case-reference-help" className="muted">
        Unique in your organisation; left empty, the case gets one like CASE-000123.
      </span>
      <FieldError id="case-reference-error" message={message("reference")} />

      <label htmlFor="case-description">Description</label>
      <textarea id="case-description" {...form.register("description")} {...described("description", !!message("description"))} />
      <FieldError id="case-description-error" message={message("description")} />

      <div className="inline">
        <div>
          <label htmlFor="case-priority">Case priority</label>
          <select id="case-priority" {...form.register("priority")}>
            <LabelOptions labels={PRIORITIES} />
          </select>
          <FieldError id="case-priority-error" message={message("priority")} />
        </div>
        <div>
          <label htmlFor="case-assignee">Assign to</label>
          <select id="case-assignee" {...form.register("assignee")} {...described("assignee", !!message("assignee"))}>
            <option value="">Nobody yet</option>
            <option value={String(me.id)}>Me ({me.email})</option>
            {others.map((u) => (
              <option key={u.id} value={String(u.id)}>
                {userLabel(u)}
              </option>
            ))}
          </select>
          <FieldError id="case-assignee-error" message={message("assignee")} />
        </div>
      </div>

      <label htmlFor="case-data">Extra data (a JSON object, optional)</label>
      <textarea
        id="case-data"
        placeholder='{"channel": "phone"}'
        {...form.register("data", { validate: dataProblem })}
        {...described("data", !!message("data"))}
      />
      <FieldError id="case-data-error" message={message("data")} />

      <div className="actions">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? "Opening…" : "Open the case"}
        </button>
        <button type="button" onClick={onCancel}>
          Close the form
        </button>
      </div>
    </form>
  );
}
