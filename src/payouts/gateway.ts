// The API's side of the payout workflows: start them, read their live state, deliver decisions and
// provider events. Workflow ids come from payout ids, never from run ids.
import { createHash } from 'node:crypto';
import {
  ApplicationFailure,
  type Client,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { bulkPayoutWorkflow } from '../../workflows/bulk.ts';
import { type BulkProgress, bulkWorkflowId, cancelBulkUpdate } from '../../workflows/bulk-contract.ts';
import type { payoutWorkflow } from '../../workflows/payout.ts';
import {
  cancelPayoutUpdate,
  clearComplianceUpdate,
  decideApprovalUpdate,
  type ProviderEventSignal,
  payoutStatusQuery,
  payoutWorkflowId,
  providerEventSignal,
  resolveUnknownOutcomeUpdate,
  type UnknownOutcomeResolution,
} from '../../workflows/payout-contract.ts';
import type { payoutWebhookWorkflow } from '../../workflows/payout-webhook.ts';
import type { Actor } from '../auth/actor.ts';
import type { PayoutInput, PayoutStateDoc } from './state.ts';

/** A decision the workflow refused (its validator said why), or a payout with no running workflow. */
export class PayoutDecisionRefused extends Error {
  readonly code = 'payout_decision_refused';
  constructor(message: string) {
    super(message);
    this.name = 'PayoutDecisionRefused';
  }
}

/**
 * Refused because the payout's workflow has closed: before the decision reached it, or (an update the server
 * had accepted) while it was being taken. The payout's row holds its final state; the API answers from it.
 */
export class PayoutWorkflowClosed extends PayoutDecisionRefused {
  constructor(message: string) {
    super(message);
    this.name = 'PayoutWorkflowClosed';
  }
}

/** How long an update waits for its workflow's answer by default (payouts and periods): as long as a start. */
export const UPDATE_TIMEOUT_MS = 10_000;

/** The failure the server gives an accepted update whose workflow completed before the update did. */
const UPDATE_OUTLIVED_BY_RUN = 'AcceptedUpdateCompletedWorkflow';

/**
 * The answer of the update `updateId` the workflow already received (its result, or its refusal thrown);
 * undefined when it never received it. The caller bounds the wait as for any update.
 */
export async function sentUpdateAnswer<T>(handle: WorkflowHandle, updateId: string): Promise<T | undefined> {
  try {
    return await handle.getUpdateHandle<T>(updateId).result();
  } catch (err) {
    // The server's NOT_FOUND: no such update (or no such workflow, which the decision itself then reports).
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Payout id derived from who asked and their Idempotency-Key: a retried request, even one whose first
 * response was lost after the workflow started, maps to the same payout and the same workflow.
 */
export function payoutIdFor(actor: string, requestKey: string): string {
  return `po_${createHash('sha256').update(`${actor}\u0000${requestKey}`).digest('hex').slice(0, 24)}`;
}

export function payoutWebhookWorkflowId(eventId: string): string {
  return `payout-webhook-${eventId}`;
}

export class PayoutGateway {
  readonly #client: Client;
  readonly #taskQueue: string;

  readonly #startTimeoutMs: number;
  readonly #updateTimeoutMs: number;
  readonly #bulk: { window: number; pollMs: number };

  /**
   * `startTimeoutMs`: how long a start may take, retries included, before the caller hears Temporal is
   * unavailable. `updateTimeoutMs`: how long a decision waits for its workflow's answer (the SDK would wait
   * forever when no worker polls) before the caller hears its outcome is not known yet (default 10 s, as
   * starts). `bulkWindow` / `bulkPollMs`: payouts of one bulk in flight at most (default 500), and how
   * often its workflow looks again when none of them finished (default 10 s).
   */
  constructor(
    client: Client,
    taskQueue: string,
    opts: {
      startTimeoutMs?: number;
      updateTimeoutMs?: number;
      bulkWindow?: number;
      bulkPollMs?: number;
    } = {},
  ) {
    this.#client = client;
    this.#taskQueue = taskQueue;
    this.#startTimeoutMs = opts.startTimeoutMs ?? 10_000;
    this.#updateTimeoutMs = opts.updateTimeoutMs ?? UPDATE_TIMEOUT_MS;
    this.#bulk = { window: opts.bulkWindow ?? 500, pollMs: opts.bulkPollMs ?? 10_000 };
  }

  /**
   * Starts the payout's workflow once: starting it again while it runs, or after it closed, is a no-op (one
   * payout id never gets a second run, whatever retried the start).
   */
  async start(input: PayoutInput): Promise<void> {
    await this.#startOnce(() =>
      this.#client.workflow.start<typeof payoutWorkflow>('payoutWorkflow', {
        workflowId: payoutWorkflowId(input.payoutId),
        taskQueue: this.#taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      }),
    );
  }

  /** Starts the bulk's workflow once (its snapshot is committed first); starting it again is a no-op. */
  async startBulk(bulkId: string): Promise<void> {
    await this.#startOnce(() =>
      this.#client.workflow.start<typeof bulkPayoutWorkflow>('bulkPayoutWorkflow', {
        workflowId: bulkWorkflowId(bulkId),
        taskQueue: this.#taskQueue,
        args: [{ bulkId, ...this.#bulk }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      }),
    );
  }

  /** Cancels the bulk (its workflow's validator may refuse: already cancelled, or nothing left to stop). */
  async cancelBulk(bulkId: string, by: Actor, reason: string, updateId?: string): Promise<BulkProgress> {
    return this.#update(
      () =>
        this.#client.workflow
          .getHandle(bulkWorkflowId(bulkId))
          .executeUpdate(cancelBulkUpdate, { args: [{ by, reason }], ...(updateId ? { updateId } : {}) }),
      `bulk ${bulkId} has finished or never started; there is nothing to cancel`,
    );
  }

  /** Live state from the workflow (running or closed); undefined when no workflow exists. */
  async status(payoutId: string): Promise<PayoutStateDoc | undefined> {
    try {
      return await this.#handle(payoutId).query(payoutStatusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  // Decisions are updates: each answers with the payout's state once the workflow acted on it. `updateId`
  // (from the request's Idempotency-Key) makes a retried request the same update, answered the same way.

  async decide(
    payoutId: string,
    approver: Actor,
    decision: 'approve' | 'reject',
    reason: string,
    updateId?: string,
  ) {
    return this.#update(() =>
      this.#handle(payoutId).executeUpdate(decideApprovalUpdate, {
        args: [{ approver, decision, reason }],
        ...(updateId ? { updateId } : {}),
      }),
    );
  }

  /**
   * The answer of a decision already sent as `updateId` (a retry of a request whose first try was answered
   * 503), waited for as any update; undefined when the payout's workflow never received that update.
   */
  async sentDecision(payoutId: string, updateId: string): Promise<PayoutStateDoc | undefined> {
    return this.#update(() => sentUpdateAnswer<PayoutStateDoc>(this.#handle(payoutId), updateId));
  }

  async cancel(payoutId: string, by: Actor, reason: string, updateId?: string) {
    return this.#update(
      () =>
        this.#handle(payoutId).executeUpdate(cancelPayoutUpdate, {
          args: [{ by, reason }],
          ...(updateId ? { updateId } : {}),
        }),
      `payout ${payoutId} is final (paid, returned, failed, rejected or cancelled); it can no longer be cancelled`,
    );
  }

  async resolveUnknownOutcome(payoutId: string, resolution: UnknownOutcomeResolution, updateId?: string) {
    return this.#update(() =>
      this.#handle(payoutId).executeUpdate(resolveUnknownOutcomeUpdate, {
        args: [resolution],
        ...(updateId ? { updateId } : {}),
      }),
    );
  }

  async clearCompliance(payoutId: string, by: Actor, reason: string, updateId?: string) {
    return this.#update(
      () =>
        this.#handle(payoutId).executeUpdate(clearComplianceUpdate, {
          args: [{ by, reason }],
          ...(updateId ? { updateId } : {}),
        }),
      `payout ${payoutId} has finished; there is nothing to clear`,
    );
  }

  /** Delivers a verified provider event; a payout whose workflow is gone is reported, not retried. */
  async deliverProviderEvent(
    payoutId: string,
    event: ProviderEventSignal,
  ): Promise<'delivered' | 'no_workflow'> {
    try {
      await this.#handle(payoutId).signal(providerEventSignal, event);
      return 'delivered';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'no_workflow';
      throw err;
    }
  }

  /**
   * Delivers an outbox event of a payout whose workflow has closed, with the payout workflow's retries. Once
   * per event: asking again while it runs or after it delivered is a no-op; after it gave up it tries again.
   */
  async deliverWebhook(eventId: string): Promise<void> {
    try {
      await this.#client.workflow.start<typeof payoutWebhookWorkflow>('payoutWebhookWorkflow', {
        workflowId: payoutWebhookWorkflowId(eventId),
        taskQueue: this.#taskQueue,
        args: [{ eventId }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  /** A start within the start deadline; one that finds its workflow already started (or closed) is done. */
  async #startOnce(start: () => Promise<unknown>): Promise<void> {
    try {
      await this.#client.withDeadline(Date.now() + this.#startTimeoutMs, start);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  #handle(payoutId: string) {
    return this.#client.workflow.getHandle(payoutWorkflowId(payoutId));
  }

  /**
   * An update within the update deadline (past it WorkflowUpdateRPCTimeoutOrCancelledError: a 503, outcome
   * not known); a refusal by its validator is refused with its reason, a workflow that is gone (`notFound`
   * says so) as closed, also when it closed between accepting the update and answering it.
   */
  async #update<T>(
    run: () => Promise<T>,
    notFound = 'the payout workflow has finished; no decision can change it now',
  ): Promise<T> {
    try {
      return await this.#client.withDeadline(Date.now() + this.#updateTimeoutMs, run);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const { cause } = err;
        if (cause instanceof ApplicationFailure && cause.type === UPDATE_OUTLIVED_BY_RUN) {
          throw new PayoutWorkflowClosed(notFound);
        }
        throw new PayoutDecisionRefused(cause?.message ?? err.message);
      }
      if (err instanceof WorkflowNotFoundError) throw new PayoutWorkflowClosed(notFound);
      throw err;
    }
  }
}
