// Words for transfers, shared by the transfer screens.
import type { Schemas } from "../../api/client";

type Transfer = Schemas["Transfer"];

export const TRANSFER_STATUS: Record<Transfer["status"], string> = {
  pending: "Pending",
  approved: "Approved",
  rejected: "Rejected",
  cancelled: "Cancelled",
};

export function amountText(transfer: Pick<Transfer, "amount" | "currency">): string {
  return `${transfer.amount} ${transfer.currency}`;
}

/** Where the chain stands, in a few words. */
export function chainSummary(transfer: Transfer): string {
  const chain = [...transfer.chain].sort((a, b) => a.execution_order - b.execution_order);
  const total = chain.length;
  if (total === 0) return "No workflow";
  const at = (status: string) => chain.findIndex((item) => item.status === status);
  const running = at("running");
  if (running >= 0) {
    const item = chain[running]!;
    const step = item.current_step ? `, step ${item.current_step.name}` : "";
    return `Workflow ${running + 1} of ${total}: ${item.workflow_template_name}${step}`;
  }
  const rejected = at("rejected");
  if (rejected >= 0) return `Rejected in workflow ${rejected + 1} of ${total}`;
  const failed = at("failed");
  if (failed >= 0) return `Workflow ${failed + 1} of ${total} failed`;
  if (transfer.status === "cancelled") return "Cancelled";
  if (transfer.status === "approved") return `All ${total} workflows approved`;
  return `${total} workflows`;
}
