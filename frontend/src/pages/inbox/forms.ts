// The fields of each form task, as the engine validates them (workflows/engine/actions.py:
// CheckSafetyFormSerializer, VerifyContactFormSerializer; strict: no other key is accepted).
// The inbox renders a form from these descriptions.
export type FormField =
  | { name: string; label: string; kind: "choice"; choices: { value: string; label: string }[] }
  | { name: string; label: string; kind: "boolean"; yes: string; no: string };

export const TASK_FORMS: Record<string, FormField[]> = {
  check_safety: [
    {
      name: "risk_level",
      label: "Risk level",
      kind: "choice",
      choices: [
        { value: "low", label: "Low" },
        { value: "medium", label: "Medium" },
        { value: "high", label: "High" },
        { value: "critical", label: "Critical" },
      ],
    },
  ],
  verify_contact: [
    {
      name: "contact_verified",
      label: "Were the contact details verified?",
      kind: "boolean",
      yes: "Yes, verified",
      no: "No, could not verify",
    },
  ],
};

export const ACTION_WORDS: Record<string, string> = {
  approval: "Approval",
  check_safety: "Check safety",
  verify_contact: "Verify contact",
};

/** Form values (strings from inputs) as the API's `data`: booleans as true/false. */
export function formData(fields: FormField[], values: Record<string, string>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const field of fields) {
    const value = values[field.name] ?? "";
    data[field.name] = field.kind === "boolean" ? value === "true" : value;
  }
  return data;
}
