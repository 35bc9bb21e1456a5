// What Disburse's logs add about a workflow (shared by the workflow interceptors and the worker's
// activity interceptors): the payout / period / bulk id its workflow id names, and the request id of
// the HTTP request that started it (a workflow header, not part of the workflow's input). Pure (no I/O,
// deterministic), so workflow code imports it too.
import type { Payload } from '@temporalio/common';

export const REQUEST_ID_HEADER = 'disburse-request-id';

const ID_PREFIXES: [RegExp, string][] = [
  [/^payout-(po_[a-z0-9]+)$/, 'payoutId'],
  [/^period-(.+)$/, 'periodId'],
  [/^bulk-(.+)$/, 'bulkId'],
];

/** payoutId / periodId / bulkId from a workflow id (nothing for other workflows). */
export function idsOfWorkflow(workflowId: string): Record<string, string> {
  for (const [re, key] of ID_PREFIXES) {
    const m = re.exec(workflowId);
    if (m) return { [key]: m[1]! };
  }
  return {};
}

/** The request id in a header map, decoded without a payload converter (a JSON string payload). */
export function requestIdOf(headers: Record<string, Payload> | undefined): string | undefined {
  const p = headers?.[REQUEST_ID_HEADER];
  if (!p?.data) return undefined;
  try {
    const v = JSON.parse(new TextDecoder().decode(p.data));
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
