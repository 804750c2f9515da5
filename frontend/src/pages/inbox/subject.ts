// What a task is about, from the inbox's `subject` summary (approvals/chain.py and
// cases/subject.py `describe`): words and a link.
import type { Schemas } from "../../api/client";

type Task = Schemas["Task"];

function text(subject: Task["subject"], key: string): string {
  const value = subject[key];
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

export interface SubjectView {
  kind: string;
  title: string;
  detail: string;
  href: string | null;
}

export function describeSubject(task: Task): SubjectView {
  const type = text(task.subject, "type");
  const id = text(task.subject, "id");
  const reference = text(task.subject, "reference");
  if (type === "transfer") {
    const amount = [text(task.subject, "amount"), text(task.subject, "currency")].filter(Boolean).join(" ");
    const kind = text(task.subject, "transfer_type");
    return {
      kind: "Transfer",
      title: `Transfer ${reference || `#${id}`}`,
      detail: [amount, kind && `type ${kind}`].filter(Boolean).join(" · "),
      href: `/transfers/${id}`,
    };
  }
  if (type === "case") {
    return {
      kind: "Case",
      title: `Case ${reference || `#${id}`}`,
      detail: text(task.subject, "title"),
      href: `/cases/${id}`,
    };
  }
  return { kind: type || "Item", title: `${type || "Item"} #${id}`, detail: "", href: null };
}
