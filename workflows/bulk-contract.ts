// The bulk payout workflow's public contract (id `bulk-<bulkId>`): input, progress and the activity
// interface. The API imports these same definitions.
import { defineQuery } from '@temporalio/workflow';
import type { PayoutWave } from './payout-contract.ts';

export const bulkWorkflowId = (bulkId: string) => `bulk-${bulkId}`;

/** Outbox id of the event sent once a bulk has no payout in flight any more. */
export const bulkCompletedEventId = (bulkId: string) => `payout.bulk_completed:${bulkId}`;

export interface BulkInput {
  bulkId: string;
  /** Payouts of this bulk in flight at most (parked ones — approval, schedule, review — do not count). */
  window: number;
  /** How long to wait before looking again when no slot was free. */
  pollMs: number;
  /** Progress carried over continue-as-new. */
  carried?: BulkProgress;
}

/** Counts per payout state once nothing is in flight (`not_started` should stay absent). */
export interface BulkSummary {
  bulkId: string;
  payouts: Record<string, number>;
  total: number;
  skipped: number;
}

export interface BulkProgress {
  bulkId: string;
  stage: 'running' | 'completed';
  waves: number;
  started: number;
  inFlight: number;
  waiting: number;
  /** Payouts this bulk makes; -1 until the first wave counted them. */
  total: number;
  continuedAsNew: number;
  summary?: BulkSummary;
}

export const bulkProgressQuery = defineQuery<BulkProgress>('bulkProgress');

export interface BulkActivities {
  startBulkWave(input: { bulkId: string; window: number }): Promise<PayoutWave>;
  completeBulk(input: { bulkId: string }): Promise<BulkSummary>;
  deliverBulkWebhook(input: { eventId: string }): Promise<void>;
}
