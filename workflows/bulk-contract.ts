// The bulk payout workflow's public contract (id `bulk-<bulkId>`): input, progress and the activity
// interface. The API imports these same definitions.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { Actor } from '../src/auth/actor.ts';
import type { PayoutWave } from '../src/payouts/state.ts';

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
  cancellation?: BulkCancellation;
}

export interface BulkCancelRequest {
  by: Actor;
  reason: string;
}

/** A cancel of the whole bulk: who and why; once carried out, what it stopped and what it could not. */
export interface BulkCancellation extends BulkCancelRequest {
  at: string;
  /** Payouts not started yet, moved to the skipped list. */
  dropped?: number;
  /** Started payouts already with a provider (or otherwise past cancelling): they run to their end. */
  refused?: number;
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
  cancellation?: BulkCancellation;
  summary?: BulkSummary;
}

export const bulkProgressQuery = defineQuery<BulkProgress>('bulkProgress');

/** Cancels the bulk: no further payout starts, and started ones not yet submitted are cancelled. */
export const cancelBulkUpdate = defineUpdate<BulkProgress, [BulkCancelRequest]>('cancelBulk');

export interface BulkActivities {
  startBulkWave(input: { bulkId: string; window: number }): Promise<PayoutWave>;
  /** Idempotent: a repeat finds nothing left to drop, and payouts it cancelled are final. */
  cancelBulkPayouts(
    input: { bulkId: string } & BulkCancellation,
  ): Promise<{ dropped: number; refused: number }>;
  completeBulk(input: { bulkId: string; cancellation?: BulkCancellation }): Promise<BulkSummary>;
  deliverBulkWebhook(input: { eventId: string }): Promise<void>;
}
