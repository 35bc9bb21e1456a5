// The payout workflow's working parts: the activities it calls (with their retry policies), and one payout's
// run: its status, what handlers told it, and `move`, which takes a transition from the table in
// payout-decisions.ts and records it (row + outbox event in one activity, then the webhook).
import {
  ActivityFailure,
  type ActivityOptions,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { FINAL_STATES, type PayoutInput, type PayoutStateDoc, type Reason } from '../src/payouts/state.ts';
import type { PayoutActivities, PayoutPolicy } from './payout-activities.ts';
import { PayoutFailure } from './payout-activities.ts';
import type { ProviderEventSignal, UnknownOutcomeResolution } from './payout-contract.ts';
import {
  backoff,
  FIRST_ROW_WAIT_MS,
  MAX_ROW_WAIT_MS,
  nextState,
  type PayoutEvent,
  ROW_WAIT_DEADLINE_MS,
} from './payout-decisions.ts';

// Ledger and database steps: short, idempotent by payout id, no outside party; run as local activities (in
// the worker that runs the workflow, one marker each). A data error fails the same way every time: the
// payout goes to review (see payout.ts).
const stepOptions = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1m',
    backoffCoefficient: 2,
    nonRetryableErrorTypes: [PayoutFailure.insufficientFunds, PayoutFailure.dataError],
  },
} satisfies ActivityOptions;
const localSteps = proxyLocalActivities<PayoutActivities>(stepOptions);

/** Provider submission: retryable errors are retried with the SAME idempotency key; the rest come back. */
export const submission = proxyActivities<Pick<PayoutActivities, 'submitToProvider'>>({
  startToCloseTimeout: '60s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumAttempts: 4,
    nonRetryableErrorTypes: [
      PayoutFailure.providerOutage,
      PayoutFailure.providerDeclined,
      PayoutFailure.providerTimeout,
    ],
  },
});

/** A status check that fails leaves the outcome unknown; the workflow checks again later. */
export const statusChecks = proxyActivities<Pick<PayoutActivities, 'checkProviderStatus'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
});

/** Webhook delivery keeps retrying for hours; it never blocks the money movement. */
const webhooks = proxyActivities<Pick<PayoutActivities, 'deliverWebhook'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '30m', maximumAttempts: 25 },
});

export type Timer = { purpose: string; ms: number };

/** One payout's run: its status and what its handlers were told, shared by the story and its handlers. */
export class PayoutRun {
  readonly st: PayoutStateDoc;
  policy!: PayoutPolicy;
  /** First event per attempt key (a return replaces it): the provider's word on that attempt. */
  readonly providerEvents = new Map<string, ProviderEventSignal>();
  readonly seenEventIds = new Set<string>();
  /** Attempts handed to submitToProvider: only those may have paid. */
  readonly sent = new Set<number>();
  cancellation: { by: string; reason: string } | undefined;
  clearedBy: string | undefined;
  verdict: UnknownOutcomeResolution | undefined;
  /** The attempt whose not-paid verdict its provider could not honour (a forced verdict may override). */
  refusedAttempt: number | undefined;
  /** Approvals in the last recorded status (a decision answers once its approval is recorded). */
  recordedApprovals = 0;
  reviewed = false;
  /** Ledger and database steps in flight: a decision answers when none is. */
  #ownSteps = 0;
  #deliveries: Promise<void>[] = [];
  /** The ledger and database steps, counted while they run. */
  readonly steps: PayoutActivities;

  readonly input: PayoutInput;

  constructor(input: PayoutInput) {
    this.input = input;
    this.st = {
      payoutId: input.payoutId,
      payeeId: input.payeeId,
      state: 'requested',
      amount: input.amount,
      attempts: [],
      approvals: [],
      approvalsRequired: 0,
      reasons: [],
    };
    this.steps = new Proxy(localSteps, {
      get: (target, name) => {
        const step: unknown = Reflect.get(target, name);
        if (typeof step !== 'function') return step;
        return (...args: unknown[]) => {
          this.#ownSteps++;
          const running = (step as (...a: unknown[]) => Promise<unknown>)(...args);
          const done = () => {
            this.#ownSteps--;
          };
          running.then(done, done);
          return running;
        };
      },
    });
  }

  /**
   * Holds the funds and screens the payout (admitPayout). A row not written yet is waited for, backing off,
   * up to a deadline; a payout that never got one fails its workflow with the reason (nothing was held or
   * recorded).
   */
  async admit(): Promise<Awaited<ReturnType<PayoutActivities['admitPayout']>>> {
    const deadline = Date.now() + ROW_WAIT_DEADLINE_MS;
    let waitMs = FIRST_ROW_WAIT_MS;
    for (;;) {
      try {
        return await this.steps.admitPayout({
          input: this.input,
          status: this.statusAfter('admit'),
          at: new Date().toISOString(),
        });
      } catch (err) {
        if (failureType(err) !== PayoutFailure.payoutRowMissing) throw err;
        if (Date.now() + waitMs > deadline) {
          throw ApplicationFailure.nonRetryable(
            `payout ${this.input.payoutId} has no row: start payouts through the API or a fan-out, which write it first`,
            PayoutFailure.payoutRowMissing,
          );
        }
        await sleep(waitMs);
        waitMs = backoff(waitMs, MAX_ROW_WAIT_MS);
      }
    }
  }

  /** A copy, so handlers and history never share the mutable state (structuredClone is not in the sandbox). */
  snapshot(): PayoutStateDoc {
    return JSON.parse(JSON.stringify(this.st)) as PayoutStateDoc;
  }

  /** Takes `event` (state, timer, search attributes), records it with its webhook, and delivers that. */
  async move(event: PayoutEvent, timer?: Timer, eventKey?: string): Promise<void> {
    const { state, nextTimer } = this.st;
    const webhook = this.enter(event, timer);
    let recorded: { eventId?: string };
    try {
      recorded = await this.steps.recordPayoutState({
        status: this.snapshot(),
        ...(webhook ? { event: webhook } : {}),
        ...(eventKey ? { eventKey } : {}),
      });
    } catch (err) {
      // Not recorded, so not taken: the payout is where its row says (a data error reviews it from there).
      Object.assign(this.st, { state, nextTimer });
      throw err;
    }
    this.recordedApprovals = this.st.approvals.length;
    this.deliver(recorded);
  }

  /** The workflow's side of `event` without recording it (a fused step records it); its webhook. */
  enter(event: PayoutEvent, timer?: Timer): string | undefined {
    const next = nextState(this.st.state, event);
    if (!next) {
      throw ApplicationFailure.nonRetryable(
        `payout ${this.st.payoutId}: ${event} cannot happen in ${this.st.state}`,
      );
    }
    this.st.state = next.state;
    // A notice keeps the timer the payout waits on, unless it starts another.
    if (timer)
      this.st.nextTimer = { purpose: timer.purpose, at: new Date(Date.now() + timer.ms).toISOString() };
    else if (!next.notice) this.st.nextTimer = undefined;
    upsertSearchAttributes({
      PayoutState: [next.state],
      ...(this.st.provider ? { Provider: [this.st.provider] } : {}),
    });
    return next.webhook;
  }

  /** The status `event` would record, not entered yet. */
  statusAfter(event: PayoutEvent): PayoutStateDoc {
    const { nextTimer: _current, ...rest } = this.snapshot();
    return { ...rest, state: nextState(this.st.state, event)?.state ?? this.st.state };
  }

  deliver({ eventId }: { eventId?: string }): void {
    if (eventId) this.#deliveries.push(webhooks.deliverWebhook({ eventId }).catch(() => undefined));
  }

  /** Every webhook delivered (or given up) and every handler done: the run may end. */
  async drain(): Promise<PayoutStateDoc> {
    await Promise.all(this.#deliveries);
    await condition(allHandlersFinished);
    return this.snapshot();
  }

  async finish(event: PayoutEvent, reason?: Reason): Promise<PayoutStateDoc> {
    if (reason) this.st.reasons.push(reason);
    await this.move(event);
    return this.drain();
  }

  async releaseAndFinish(event: PayoutEvent, reason: Reason): Promise<PayoutStateDoc> {
    await this.steps.releaseFunds({ payoutId: this.st.payoutId, reason: reason.code });
    return this.finish(event, reason);
  }

  /** A decision's answer: once the run acted on it (`taken`) or is done, with none of its steps running. */
  async answerAfter(taken: () => boolean): Promise<PayoutStateDoc> {
    await condition(
      () => (taken() || this.reviewed || FINAL_STATES.includes(this.st.state)) && this.#ownSteps === 0,
    );
    return this.snapshot();
  }
}

export function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

export function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/** The step a DataError names (activities/data-errors.ts), or `unknown`. */
export function failureStep(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const details = cause instanceof ApplicationFailure ? cause.details : undefined;
  const step = (details?.[0] as { step?: unknown } | undefined)?.step;
  return typeof step === 'string' ? step : 'unknown';
}
