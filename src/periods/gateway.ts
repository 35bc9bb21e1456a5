// The API's side of the period-close workflows: start (close), read progress, deliver decisions.
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  type Client,
  isGrpcServiceError,
  WorkflowClient,
  type WorkflowClientInterceptor,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import type { periodCloseWorkflow } from '../../workflows/period.ts';
import {
  type DiffSummary,
  decidePeriodUpdate,
  type PeriodInput,
  type PeriodProgress,
  periodProgressQuery,
  periodWorkflowId,
  recalculateUpdate,
  resubmitUpdate,
} from '../../workflows/period-contract.ts';
import type { Actor } from '../auth/actor.ts';
import { sentUpdateAnswer, UPDATE_TIMEOUT_MS } from '../payouts/gateway.ts';
import { type HistoryEventSummary, summariseHistory } from '../payouts/history.ts';

/** The workflow refused (its validator said why), or there is no workflow for the period. */
export class PeriodDecisionRefused extends Error {
  readonly code = 'period_decision_refused';
  constructor(message: string) {
    super(message);
    this.name = 'PeriodDecisionRefused';
  }
}

/** Reads the period's row: its status is the truth once the period's workflow has passed retention. */
export interface PeriodRows {
  period(periodId: string): Promise<{ status: string } | undefined>;
}

/**
 * Statuses after which a second close would pay again: the run was posted (or completed). A period only
 * `closed` with no workflow (its run ended before posting, or an earlier deployment closed it) may be
 * closed again: calculation is idempotent and nothing was posted yet.
 */
const CLOSED_STATUSES = new Set(['posted', 'completed']);

export class PeriodGateway {
  readonly #client: Client;
  readonly #taskQueue: string;
  readonly #policy: PeriodInput['policy'];
  /** The client's workflow calls, plus a note of each update whose answer already held its outcome. */
  readonly #updates: WorkflowClient;
  readonly #answered = new Map<string, number>();

  readonly #updateTimeoutMs: number;

  /** `updateTimeoutMs`: how long a decision waits for the workflow's answer (as PayoutGateway's). */
  constructor(
    client: Client,
    taskQueue: string,
    policy: PeriodInput['policy'],
    opts: { updateTimeoutMs?: number } = {},
  ) {
    this.#updateTimeoutMs = opts.updateTimeoutMs ?? UPDATE_TIMEOUT_MS;
    this.#client = client;
    this.#taskQueue = taskQueue;
    this.#policy = policy;
    // An update started with waitForStage ACCEPTED that the validator rejects comes back as a handle all
    // the same; only the service's answer (its outcome, present for a rejection) tells the two apart.
    const answered = this.#answered;
    const noteOutcome: WorkflowClientInterceptor = {
      async startUpdate(input, next) {
        const out = await next(input);
        if (out.outcome) answered.set(out.updateId, (answered.get(out.updateId) ?? 0) + 1);
        return out;
      },
    };
    const o = client.workflow.options;
    this.#updates = new WorkflowClient({
      connection: client.connection,
      namespace: o.namespace,
      dataConverter: o.dataConverter,
      identity: o.identity,
      interceptors: [...(Array.isArray(o.interceptors) ? o.interceptors : []), noteOutcome],
    });
  }

  /**
   * Closes the period: starts `period-<id>`; a running one is reused, a reopened one (open for
   * corrections) is closed again, one in review (a data error after approval) resumes. Returns whether a new workflow was started. `updateId` (from the request's
   * Idempotency-Key, as for every update below) makes a retried request the same update.
   */
  async close(
    periodId: string,
    by: Actor,
    rows: PeriodRows,
    planVersion?: string,
    updateId?: string,
  ): Promise<'started' | 'running' | 'resubmitted'> {
    if (await this.startClose(periodId, by, rows, planVersion)) return 'started';
    const progress = await this.progress(periodId);
    if (progress?.stage === 'open_for_corrections' || progress?.stage === 'review') {
      await this.#update(() =>
        this.#handle(periodId).executeUpdate(resubmitUpdate, {
          args: [{ by, ...(planVersion ? { planVersion } : {}) }],
          ...(updateId ? { updateId } : {}),
        }),
      );
      return 'resubmitted';
    }
    return 'running';
  }

  /**
   * Starts `period-<id>` unless the period has had its workflow (running or finished: one close per
   * period, whoever asks — the API or the `period-close` schedule). True when this call started it.
   * REJECT_DUPLICATE holds only while Temporal keeps the closed workflow: once retention deleted it, the
   * id is free again, so a period whose row says it was closed and that has no workflow any more is
   * refused (PeriodDecisionRefused, from the row's status) and nothing starts.
   */
  async startClose(periodId: string, by: Actor, rows: PeriodRows, planVersion?: string): Promise<boolean> {
    const status = (await rows.period(periodId))?.status;
    if (status && CLOSED_STATUSES.has(status) && !(await this.#exists(periodId))) {
      throw new PeriodDecisionRefused(
        `period ${periodId} is already ${status}; its close workflow has passed retention and is not run again`,
      );
    }
    try {
      await this.#client.workflow.start<typeof periodCloseWorkflow>('periodCloseWorkflow', {
        workflowId: periodWorkflowId(periodId),
        taskQueue: this.#taskQueue,
        args: [{ periodId, closedBy: by, policy: this.#policy, ...(planVersion ? { planVersion } : {}) }],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        searchAttributes: { PeriodId: [periodId] },
      });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  }

  async #exists(periodId: string): Promise<boolean> {
    try {
      await this.#handle(periodId).describe();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async progress(periodId: string): Promise<PeriodProgress | undefined> {
    try {
      return await this.#handle(periodId).query(periodProgressQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  async recalculate(periodId: string, by: Actor, planVersion: string): Promise<DiffSummary> {
    return this.#update(() =>
      this.#handle(periodId).executeUpdate(recalculateUpdate, { args: [{ by, planVersion }] }),
    );
  }

  /**
   * Starts a recalculation once the workflow has accepted it (its validator passed) and returns without
   * waiting for the calculation: the diff appears in `progress().lastDiff` when the new run is ready.
   * The API uses this so a request never holds its database transaction while batches run. A rejected
   * update throws PeriodDecisionRefused with the validator's reason.
   */
  async startRecalculation(
    periodId: string,
    by: Actor,
    planVersion: string,
    updateId?: string,
  ): Promise<void> {
    await this.#update(async () => {
      const handle = await this.#updates
        .getHandle(periodWorkflowId(periodId))
        .startUpdate(recalculateUpdate, {
          args: [{ by, planVersion }],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
          ...(updateId ? { updateId } : {}),
        });
      // Answered with its outcome: rejected (result() throws the validator's failure) or already done.
      if (this.#takeAnswered(handle.updateId)) await handle.result();
    });
  }

  #takeAnswered(updateId: string): boolean {
    const n = this.#answered.get(updateId);
    if (!n) return false;
    if (n === 1) this.#answered.delete(updateId);
    else this.#answered.set(updateId, n - 1);
    return true;
  }

  async decide(
    periodId: string,
    approver: Actor,
    decision: 'approve' | 'reject',
    reason: string,
    updateId?: string,
  ) {
    return this.#update(() =>
      this.#handle(periodId).executeUpdate(decidePeriodUpdate, {
        args: [{ approver, decision, reason }],
        ...(updateId ? { updateId } : {}),
      }),
    );
  }

  /** The answer of a decision already sent as `updateId` (see PayoutGateway.sentDecision). */
  async sentDecision(periodId: string, updateId: string): Promise<PeriodProgress | undefined> {
    return this.#update(() => sentUpdateAnswer<PeriodProgress>(this.#handle(periodId), updateId));
  }

  /**
   * The summarised history of the period's workflow (its latest run, after a continue-as-new), as the
   * payout page shows a payout's; undefined when the period was never closed.
   */
  async history(periodId: string): Promise<HistoryEventSummary[] | undefined> {
    try {
      return summariseHistory(await this.#handle(periodId).fetchHistory());
    } catch (err) {
      if (isGrpcServiceError(err) && err.code === grpcStatus.NOT_FOUND) return undefined;
      throw err;
    }
  }

  handle(periodId: string) {
    return this.#handle(periodId);
  }

  #handle(periodId: string) {
    return this.#client.workflow.getHandle(periodWorkflowId(periodId));
  }

  /** An update within the update deadline; past it WorkflowUpdateRPCTimeoutOrCancelledError (a 503). */
  async #update<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await this.#client.withDeadline(Date.now() + this.#updateTimeoutMs, run);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError)
        throw new PeriodDecisionRefused(err.cause?.message ?? err.message);
      if (err instanceof WorkflowNotFoundError)
        throw new PeriodDecisionRefused('the period workflow is not running (close the period first)');
      throw err;
    }
  }
}
