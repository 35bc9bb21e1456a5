// One durable workflow per payout (id `payout-<payoutId>`): reserve → compliance → risk → approval → route →
// provider attempts with failover → settle, or release on failure; later returns post back to the wallet.
// Only deterministic code here: every side effect is an activity, every decision input is recorded in history.
import {
  ActivityFailure,
  type ActivityOptions,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { PayoutActivities, PayoutPolicy, RoutePlan } from './payout-activities.ts';
import { PayoutFailure } from './payout-activities.ts';
import {
  type Actor,
  type ApprovalDecision,
  type AttemptRecord,
  cancelPayoutUpdate,
  clearComplianceUpdate,
  complianceClearedSignal,
  decideApprovalUpdate,
  FINAL_STATES,
  type PayoutInput,
  type PayoutState,
  type PayoutStatus,
  type ProviderEventSignal,
  payoutStatusQuery,
  providerEventSignal,
  type Reason,
  resolveUnknownOutcomeUpdate,
  type UnknownOutcomeResolution,
} from './payout-contract.ts';
import { storable, unstorableText } from './text.ts';

// Ledger and database steps: short, idempotent by payout id, no outside party. Their retry policy is the
// same whichever way they run (see LOCAL_STEPS below).
const stepOptions = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1m',
    backoffCoefficient: 2,
    // A data error fails the same way every time: the workflow ends the payout in review (DATA_ERROR_REVIEW).
    nonRetryableErrorTypes: [PayoutFailure.insufficientFunds, PayoutFailure.dataError],
  },
} satisfies ActivityOptions;
const remoteSteps = proxyActivities<PayoutActivities>(stepOptions);
const localSteps = proxyLocalActivities<PayoutActivities>(stepOptions);

// Since this patch the ledger/database steps run as local activities: in the worker that runs the workflow,
// recorded as one marker each, and consecutive ones inside one workflow task. A payout then costs about a
// third of the workflow tasks and server round trips. Payouts started before the patch replay their
// recorded activity tasks unchanged (the replay fixtures named v1-* hold such histories).
const LOCAL_STEPS = 'payout-local-ledger-steps';

// Since this patch consecutive local steps with nothing to wait for between them run as one local activity:
// admit (prepare + reserve + record `reserved`), screen (compliance, and when nothing stops the payout, risk
// and route) and settle (settle + record `paid`). A payout then needs about half the activations. Payouts
// started before it replay their separate steps (fixtures v2-*).
const FUSED_STEPS = 'payout-fused-steps';

// Since this patch an attempt the provider has no record of counts as not paid only once its key is voided
// there (PayoutProvider.cancel), so a submission still in flight cannot pay after the failover. Payouts
// started before it asked for the status only.
const VOID_BEFORE_FAILOVER = 'payout-void-unknown-before-failover';

// Since this patch a payout whose capable providers are all down (at routing, or every attempt of a round
// ended in an outage) waits and routes again, with backoff, up to a deadline, instead of failing at once.
const WAIT_OUT_OUTAGES = 'payout-wait-out-provider-outages';
const MAX_OUTAGE_BACKOFF_MS = 60 * 60 * 1000;

// Since this patch an operator's "not paid" verdict first cancels the attempt at its provider; an attempt
// the provider still holds and cannot cancel stays in review instead of failing over.
const STOP_BEFORE_OPERATOR_FAILOVER = 'payout-stop-attempt-before-operator-failover';

// Since this patch a verdict left over from an attempt that was decided otherwise is dropped when the next
// attempt starts, a `returned` seen by a status check is reversed like a returned webhook, and provider status
// polls while awaiting confirmation back off (doubling, at most MAX_CONFIRMATION_POLL_MS) so a day of polling
// stays far below the history limit.
const ATTEMPT_HYGIENE = 'payout-attempt-hygiene';
const MAX_CONFIRMATION_POLL_MS = 30 * 60 * 1000;

// Since this patch a return that arrives while the payout's completion is being recorded is reversed too.
const RETURN_DURING_COMPLETION = 'payout-return-during-completion';

// Since this patch a decision (approval, rejection, cancel, operator verdict) answers once the workflow has
// acted on it (ledger postings and the next state recorded), so the caller sees the state after the decision.
// A submission or a timer after it is not waited for; a "not paid" verdict waits for the provider's cancel,
// which says whether it fails over or is refused. Before, it answered with the state it was taken in.
const ANSWER_AFTER_DECISION = 'payout-answer-after-decision';

// Since this patch a submission whose retries ran out only because the app's own database was unreachable
// (DatabaseUnavailable) is submitted again, same attempt and key, after a wait (doubling, at most
// MAX_DATABASE_WAIT_MS): nothing about the provider is known from it. Before, it became an unknown outcome,
// which a provider with no record of the key then turned into a failover.
const OUTLAST_DATABASE_OUTAGES = 'payout-outlast-database-outages';
const FIRST_DATABASE_WAIT_MS = 10_000;
const MAX_DATABASE_WAIT_MS = 5 * 60 * 1000;

// Since this patch a ledger or database step that fails for a data reason (DataError: a value the database
// cannot store, a broken constraint) ends the payout in `review` with reason `data_error` naming the step,
// recorded (its text made storable) with a webhook: funds released when no attempt may have paid, else kept
// where the ledger has them. A decision waiting for its answer gets that state. Before, the workflow failed.
const DATA_ERROR_REVIEW = 'payout-data-error-review';

// Provider submission: retryable errors are retried with the SAME idempotency key; anything else comes back
// to the workflow, which decides between failover and unknown-outcome resolution.
const submission = proxyActivities<Pick<PayoutActivities, 'submitToProvider'>>({
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

// A status check that fails leaves the outcome unknown; the workflow checks again later.
const statusChecks = proxyActivities<Pick<PayoutActivities, 'checkProviderStatus'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
});

// Webhook delivery keeps retrying for hours; it never blocks the money movement.
const webhooks = proxyActivities<Pick<PayoutActivities, 'deliverWebhook'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '30m', maximumAttempts: 25 },
});

/** `stop`: the attempt showed that no provider may be tried (nothing was submitted); the payout fails. */
type AttemptResult = 'paid' | 'not_paid' | { stop: Reason };

const UNPAID_OUTCOMES: readonly AttemptRecord['outcome'][] = ['declined', 'outage', 'failed', 'not_paid'];

const CANCELLABLE: readonly PayoutState[] = [
  'requested',
  'reserved',
  'compliance_hold',
  'pending_approval',
  'scheduled',
];

export async function payoutWorkflow(input: PayoutInput): Promise<PayoutStatus> {
  const { payoutId } = input;
  // The workflow's own steps in flight (ledger and database, local or not): a decision answers when none is.
  let ownSteps = 0;
  const tracked = <T extends object>(steps: T): T =>
    new Proxy(steps, {
      get(target, name) {
        const step: unknown = Reflect.get(target, name);
        if (typeof step !== 'function') return step;
        // The step's own promise is returned, so awaiting it resumes exactly as before (same commands, same order).
        return (...args: unknown[]) => {
          ownSteps++;
          const running = (step as (...a: unknown[]) => Promise<unknown>)(...args);
          const done = () => {
            ownSteps--;
          };
          running.then(done, done);
          return running;
        };
      },
    });
  const local = tracked(localSteps);
  const isLocal = patched(LOCAL_STEPS);
  const acts = isLocal ? local : tracked(remoteSteps);
  const fused = isLocal && patched(FUSED_STEPS);
  const st: PayoutStatus = {
    payoutId,
    payeeId: input.payeeId,
    state: 'requested',
    amount: input.amount,
    attempts: [],
    approvals: [],
    approvalsRequired: 0,
    reasons: [],
  };
  const providerEvents = new Map<string, ProviderEventSignal>();
  const seenEventIds = new Set<string>();
  const deliveries: Promise<void>[] = [];
  let complianceClearedBy: string | undefined;
  let cancellation: { by: string; reason: string } | undefined;
  let operatorVerdict: UnknownOutcomeResolution | undefined;
  let outageDeadline: number | undefined;
  let refusedAttempt: number | undefined;
  let outageBackoff: number | undefined;
  // Attempts handed to submitToProvider: only those may have paid.
  const sentAttempts = new Set<number>();
  // Resolved by the first steps of run(); the helpers below read them.
  let policy: PayoutPolicy;
  let plan: RoutePlan;
  let route: () => Promise<RoutePlan>;
  let dataErrorReviewed = false;

  // A copy, so handlers and history never share the mutable state (structuredClone is not in the sandbox).
  const snapshot = (): PayoutStatus => JSON.parse(JSON.stringify(st)) as PayoutStatus;

  setHandler(payoutStatusQuery, snapshot);
  setHandler(providerEventSignal, async (event) => {
    // Providers may deliver the same webhook more than once: the event id makes it a no-op.
    if (seenEventIds.has(event.eventId)) return;
    seenEventIds.add(event.eventId);
    // An event counts only from the provider the attempt was sent to: another provider's webhook cannot mark
    // it paid or failed (events from before providers were named carry none and are taken as they are).
    const counted = st.attempts.find((a) => a.idempotencyKey === event.idempotencyKey);
    if (event.provider !== undefined) {
      const sentTo = counted?.provider;
      if (sentTo !== event.provider) {
        log.warn('provider event ignored: the attempt it names was not sent to that provider', {
          payoutId,
          idempotencyKey: event.idempotencyKey,
          from: event.provider,
          sentTo: sentTo ?? 'none',
        });
        return;
      }
    }
    const previous = providerEvents.get(event.idempotencyKey);
    if (!previous || event.type === 'returned') providerEvents.set(event.idempotencyKey, event);
    // A payment reported for an attempt already counted as not paid: the payout may have been paid twice.
    if (event.type === 'paid' && counted && UNPAID_OUTCOMES.includes(counted.outcome)) {
      log.error('provider reports paid an attempt counted as not paid: possible double payment', {
        payoutId,
        idempotencyKey: event.idempotencyKey,
        counted: counted.outcome,
      });
      st.reasons.push({
        code: 'reconcile_required',
        message: `${counted.provider} reports attempt ${counted.attemptNo} paid after it was counted ${counted.outcome}; reconcile with the provider`,
      });
      // Committed and sent now, not at the next transition (there may be none for days).
      if (patched(ATTEMPT_HYGIENE)) {
        try {
          const recorded = await acts.recordPayoutState({
            status: snapshot(),
            event: 'payout.reconcile_required',
            eventKey: `${counted.attemptNo}`,
          });
          deliver(recorded);
        } catch (err) {
          // Not from a handler, which would fail the workflow: the main flow's next record meets it again.
          if (failureType(err) !== PayoutFailure.dataError || !patched(DATA_ERROR_REVIEW)) throw err;
          log.error('recording reconcile_required failed for a data reason', {
            payoutId,
            error: failureMessage(err),
          });
        }
      }
    }
  });
  const clearCompliance = ({ by, reason }: { by: Actor; reason: string }) => {
    complianceClearedBy = by.actor;
    st.reasons.push({ code: 'compliance_cleared', message: `cleared by ${by.actor}: ${reason}` });
  };
  // The signal is how clearing was asked before the update existed (and still works); the update answers.
  setHandler(complianceClearedSignal, (clear) => {
    if (st.state === 'compliance_hold') clearCompliance(clear);
  });
  /**
   * A decision's answer: since ANSWER_AFTER_DECISION, once the workflow has taken it up (`taken`) or is done,
   * and none of its own steps runs, so the state it reports is the one recorded after the decision.
   */
  async function answerAfter(taken: () => boolean): Promise<PayoutStatus> {
    if (patched(ANSWER_AFTER_DECISION)) {
      await condition(
        () => (taken() || dataErrorReviewed || FINAL_STATES.includes(st.state)) && ownSteps === 0,
      );
    }
    return snapshot();
  }
  const distinctApprovals = () =>
    new Set(st.approvals.filter((a) => a.decision === 'approve').map((a) => a.actor)).size;

  setHandler(
    decideApprovalUpdate,
    (decision: ApprovalDecision) => {
      st.approvals.push({
        actor: decision.approver.actor,
        decision: decision.decision,
        reason: decision.reason,
        at: new Date().toISOString(),
      });
      // An approval that does not complete the approvals needed leaves the payout waiting: that is its answer.
      const decisive = decision.decision === 'reject' || distinctApprovals() >= st.approvalsRequired;
      return answerAfter(() => !decisive || st.state !== 'pending_approval');
    },
    {
      validator: (decision: ApprovalDecision) => {
        refuseUnstorable('reason', decision.reason);
        validateApproval(st, input, decision);
      },
    },
  );
  setHandler(
    clearComplianceUpdate,
    (clear) => {
      clearCompliance(clear);
      return answerAfter(() => st.state !== 'compliance_hold');
    },
    {
      validator: ({ by, reason }) => {
        refuseUnstorable('reason', reason);
        if (by.role !== 'operator') throw new Error('only an operator can clear a compliance hold');
        if (st.state !== 'compliance_hold' || complianceClearedBy !== undefined) {
          throw new Error(`payout ${payoutId} is ${st.state}, not on compliance hold`);
        }
      },
    },
  );
  setHandler(
    cancelPayoutUpdate,
    ({ by, reason }) => {
      cancellation = { by: by.actor, reason };
      return answerAfter(() => !CANCELLABLE.includes(st.state));
    },
    {
      validator: ({ by, reason }) => {
        refuseUnstorable('reason', reason);
        if (by.role !== 'operator' && by.role !== 'platform' && by.actor !== input.requestedBy.actor) {
          throw new Error(`role ${by.role} cannot cancel payout ${payoutId}`);
        }
        if (!CANCELLABLE.includes(st.state) || cancellation) {
          throw new Error(
            `payout ${payoutId} is ${st.state}; only payouts not yet submitted to a provider can be cancelled`,
          );
        }
      },
    },
  );
  setHandler(
    resolveUnknownOutcomeUpdate,
    (verdict) => {
      operatorVerdict = verdict;
      const from = st.state;
      const refusals = () => st.reasons.filter((r) => r.code === 'operator_resolution_refused').length;
      const refusedBefore = refusals();
      // Taken up once the workflow acted on it: the payout moved on, or the verdict was refused (the provider
      // could not stop the attempt); or the outcome got known another way meanwhile.
      return answerAfter(
        () =>
          (operatorVerdict !== verdict && (st.state !== from || refusals() > refusedBefore)) ||
          (st.state !== 'unknown_outcome' && st.state !== 'review'),
      );
    },
    {
      validator: ({ by, outcome, force, reason }) => {
        refuseUnstorable('reason', reason);
        if (by.role !== 'operator')
          throw new Error('only an operator can resolve an unknown provider outcome');
        if (st.state !== 'unknown_outcome' && st.state !== 'review') {
          throw new Error(`payout ${payoutId} is ${st.state}; there is no unknown outcome to resolve`);
        }
        if (force && outcome !== 'not_paid') throw new Error('force applies to a not_paid verdict only');
        if (force && (refusedAttempt === undefined || refusedAttempt !== st.attempts.at(-1)?.attemptNo)) {
          throw new Error(
            'force overrides a refused not_paid verdict only: resolve not_paid first, and force it once the ' +
              'provider, which could not cancel the attempt, has confirmed it will never pay',
          );
        }
      },
    },
  );

  /** Moves to a state: search attributes now, committed row + outbox event by activity, then webhook delivery. */
  async function transition(state: PayoutState, event?: string, timer?: { purpose: string; ms: number }) {
    enter(state, timer);
    deliver(await acts.recordPayoutState({ status: snapshot(), event }));
  }

  /** The workflow's side of a transition: state, next timer, search attributes. */
  function enter(state: PayoutState, timer?: { purpose: string; ms: number }) {
    st.state = state;
    st.nextTimer = nextTimer(timer);
    upsertSearchAttributes({
      PayoutStatus: [state],
      ...(st.provider ? { Provider: [st.provider] } : {}),
    });
  }

  /** The status a transition to `state` records, without entering it yet (a fused step records it). */
  function statusIn(state: PayoutState, timer?: { purpose: string; ms: number }): PayoutStatus {
    const { nextTimer: _current, ...rest } = snapshot();
    const timerAt = nextTimer(timer);
    return { ...rest, state, ...(timerAt ? { nextTimer: timerAt } : {}) };
  }

  function nextTimer(timer?: { purpose: string; ms: number }): PayoutStatus['nextTimer'] {
    return timer ? { purpose: timer.purpose, at: new Date(Date.now() + timer.ms).toISOString() } : undefined;
  }

  function deliver({ eventId }: { eventId?: string }) {
    if (eventId) deliveries.push(webhooks.deliverWebhook({ eventId }).catch(() => undefined));
  }

  async function finish(state: PayoutState, event: string, reason?: Reason): Promise<PayoutStatus> {
    if (reason) st.reasons.push(reason);
    await transition(state, event);
    await Promise.all(deliveries);
    await condition(allHandlersFinished);
    return snapshot();
  }

  async function releaseAndFinish(state: PayoutState, event: string, reason: Reason) {
    await acts.releaseFunds({ payoutId, reason: reason.code });
    return finish(state, event, reason);
  }

  const cancelled = () =>
    releaseAndFinish('cancelled', 'payout.cancelled', {
      code: 'cancelled',
      message: `cancelled by ${cancellation?.by}: ${cancellation?.reason}`,
    });

  try {
    return await run();
  } catch (err) {
    if (failureType(err) !== PayoutFailure.dataError || !patched(DATA_ERROR_REVIEW)) throw err;
    return dataErrorReview(err);
  }

  /**
   * A step failed for a data reason and cannot succeed on retry: the payout ends in review, visibly. Funds
   * are released unless an attempt may have paid (then they stay held, or settled, as the ledger has them).
   */
  async function dataErrorReview(err: unknown): Promise<PayoutStatus> {
    const step = failureStep(err);
    log.error('payout step failed for a data reason; the payout goes to review', {
      payoutId,
      step,
      error: failureMessage(err),
    });
    // An attempt the failure stopped before its submission was never sent: nothing can pay it.
    for (const a of st.attempts) {
      if (!sentAttempts.has(a.attemptNo) && a.outcome === 'submitting') {
        a.outcome = 'not_paid';
        a.detail = 'never submitted: the step before it failed';
      }
    }
    const mayHavePaid = st.attempts.some(
      (a) => sentAttempts.has(a.attemptNo) && !UNPAID_OUTCOMES.includes(a.outcome),
    );
    let funds = 'funds kept as the ledger has them: an attempt may have paid';
    if (!mayHavePaid) {
      funds = 'funds released';
      try {
        await acts.releaseFunds({ payoutId, reason: 'data_error' });
      } catch (releaseErr) {
        if (failureType(releaseErr) !== PayoutFailure.dataError) throw releaseErr;
        funds = `funds not released (${failureMessage(releaseErr)})`;
      }
    }
    st.reasons.push({
      code: 'data_error',
      message: `step ${step} failed for a data reason and cannot succeed on retry: ${failureMessage(err)}; ${funds}`,
    });
    enter('review');
    dataErrorReviewed = true;
    // Recorded with its text made storable; if even that fails, with free text left out.
    for (const status of [storable(snapshot()), withoutFreeText(storable(snapshot()))]) {
      try {
        deliver(
          await acts.recordPayoutState({ status, event: 'payout.review_required', eventKey: 'data_error' }),
        );
        break;
      } catch (recordErr) {
        if (failureType(recordErr) !== PayoutFailure.dataError) throw recordErr;
      }
    }
    await Promise.all(deliveries);
    await condition(allHandlersFinished);
    return snapshot();
  }

  async function run(): Promise<PayoutStatus> {
    upsertSearchAttributes({
      PayeeId: [input.payeeId],
      // Int search attribute for operators' range filters only; money math never uses this number.
      PayoutAmount: [Number(input.amount.amount)],
      Currency: [input.amount.currency],
      PayoutStatus: ['requested'],
      ...(input.periodId ? { PeriodId: [input.periodId] } : {}),
    });
    // 1. Reserve funds.
    if (fused) {
      const admitted = await local.admitPayout({ input, status: statusIn('reserved') });
      if ('rejected' in admitted) {
        return finish('rejected', 'payout.rejected', {
          code: 'insufficient_funds',
          message: admitted.rejected,
        });
      }
      policy = admitted.policy;
      enter('reserved');
    } else {
      policy = await acts.preparePayout(input);
      try {
        await acts.reserveFunds({ payoutId });
      } catch (err) {
        if (failureType(err) !== PayoutFailure.insufficientFunds) throw err;
        return finish('rejected', 'payout.rejected', {
          code: 'insufficient_funds',
          message: failureMessage(err),
        });
      }
      await transition('reserved');
    }
    if (cancellation) return cancelled();

    // 2. Compliance gate (screened together with risk and route when nothing stops the payout in between).
    const screened = fused
      ? await local.screenPayout({
          payoutId,
          approvalsRequired: policy.approvalsRequired,
          at: new Date().toISOString(),
        })
      : undefined;
    const compliance = screened?.compliance ?? (await acts.checkCompliance({ payoutId }));
    st.withholding = compliance.withholding;
    if (compliance.blocked.length > 0) {
      st.reasons.push(...compliance.blocked);
      await transition('compliance_hold', 'payout.compliance_hold', {
        purpose: 'compliance_wait',
        ms: policy.complianceWaitMs,
      });
      await condition(
        () => complianceClearedBy !== undefined || cancellation !== undefined,
        policy.complianceWaitMs,
      );
      if (cancellation) return cancelled();
      if (!complianceClearedBy) {
        return releaseAndFinish('failed', 'payout.failed', {
          code: 'compliance_timeout',
          message: 'compliance block was not cleared in time; funds released',
        });
      }
    }

    // 3. Risk rules, 4. approval.
    // Screened risk and route exist only when compliance did not block (nothing waited in between).
    const risk = screened?.risk ?? (await acts.assessRisk({ payoutId }));
    st.reasons.push(...risk.reasons);
    if (policy.approvalReason) st.reasons.push(policy.approvalReason);
    st.approvalsRequired = Math.max(policy.approvalsRequired, risk.reasons.length > 0 ? 1 : 0);
    if (st.approvalsRequired > 0) {
      const outcome = await awaitApproval(policy);
      if (outcome === 'cancelled') return cancelled();
      if (outcome !== 'approved') {
        return releaseAndFinish('rejected', 'payout.rejected', outcome);
      }
    }

    // 5. Routing: instant now, or a durable timer until the next payout window.
    const riskClear = risk.reasons.length === 0;
    route = async () => {
      const next = await acts.planRoute({ payoutId, riskClear, at: new Date().toISOString() });
      st.rail = next.rail;
      st.fee = next.fee;
      return next;
    };
    plan = screened?.plan ?? (await route());
    st.rail = plan.rail;
    st.fee = plan.fee;
    st.reasons.push({ code: `route_${plan.rail}`, message: plan.reason });
    const unroutable = (): Reason =>
      plan.unroutable ?? {
        code: 'no_provider',
        message: 'no provider supports this method, country, currency and amount',
      };
    if (plan.candidates.length === 0 && plan.providersDown && (await rerouteAfterOutage()) === 'cancelled') {
      return cancelled();
    }
    if (plan.candidates.length === 0) return releaseAndFinish('failed', 'payout.failed', unroutable());
    await awaitWindow(plan);
    if (cancellation) return cancelled();

    // 6. Provider attempts: fail over only once the previous attempt is known not to have paid. A round in
    // which every provider was down is tried again after the outage wait.
    for (;;) {
      const roundStart = st.attempts.length;
      for (const provider of plan.candidates) {
        const attemptNo = st.attempts.length + 1;
        const result = await attempt(provider, attemptNo, plan);
        if (result === 'paid') return paidThenWatchReturns(attemptNo, provider);
        if (typeof result === 'object') return releaseAndFinish('failed', 'payout.failed', result.stop);
      }
      if (!st.attempts.slice(roundStart).every((a) => a.outcome === 'outage')) break;
      const rerouted = await rerouteAfterOutage();
      if (rerouted === 'cancelled') return cancelled();
      if (rerouted === 'give_up') break;
      // Routed again after the outage: a scheduled rail waits for its window; a cancel accepted meanwhile wins.
      if (patched(ATTEMPT_HYGIENE)) {
        st.reasons.push({ code: `route_${plan.rail}`, message: plan.reason });
        await awaitWindow(plan);
        if (cancellation) return cancelled();
      }
    }
    return releaseAndFinish('failed', 'payout.failed', {
      code: 'all_providers_failed',
      message: `no provider paid (${st.attempts.map((a) => `${a.provider}: ${a.outcome}`).join(', ')}); funds released`,
    });
  }

  /** A scheduled rail waits (cancellable) for its payout window. */
  async function awaitWindow(p: RoutePlan): Promise<void> {
    if (p.rail !== 'scheduled' || !p.windowAt) return;
    const waitMs = Math.max(0, Date.parse(p.windowAt) - Date.now());
    await transition('scheduled', 'payout.scheduled', { purpose: 'payout_window', ms: waitMs });
    if (waitMs > 0) await condition(() => cancellation !== undefined, waitMs);
  }

  /** Waits out the outage and routes again, until a plan has candidates, the deadline passes or a cancel. */
  async function rerouteAfterOutage(): Promise<'routed' | 'give_up' | 'cancelled'> {
    for (;;) {
      const waited = await waitOutOutage();
      if (waited !== 'retry') return waited;
      plan = await route();
      if (plan.candidates.length > 0) return 'routed';
      if (!plan.providersDown) return 'give_up';
    }
  }

  /**
   * Every capable provider is down: wait (backoff from the policy's first wait, at most an hour) and say
   * whether to route again. Payouts started before outages were waited out give up at once, as they did.
   */
  async function waitOutOutage(): Promise<'retry' | 'give_up' | 'cancelled'> {
    const first = policy.providerOutageRetryMs;
    if (first === undefined || policy.providerOutageDeadlineMs === undefined) return 'give_up';
    if (!patched(WAIT_OUT_OUTAGES)) return 'give_up';
    outageDeadline ??= Date.now() + policy.providerOutageDeadlineMs;
    const ms = Math.min(outageBackoff ?? first, outageDeadline - Date.now());
    if (ms <= 0) return 'give_up';
    outageBackoff = Math.min((outageBackoff ?? first) * 2, MAX_OUTAGE_BACKOFF_MS);
    if (st.reasons.at(-1)?.code !== 'providers_down') {
      st.reasons.push({
        code: 'providers_down',
        message: 'every provider that can carry this payout is down; waiting to route it again',
      });
    }
    await transition('scheduled', 'payout.delayed', { purpose: 'provider_outage_retry', ms });
    await condition(() => cancellation !== undefined, ms);
    return cancellation ? 'cancelled' : 'retry';
  }

  async function awaitApproval(p: PayoutPolicy): Promise<'approved' | 'cancelled' | Reason> {
    const approvals = distinctApprovals;
    const rejection = () => st.approvals.find((a) => a.decision === 'reject');
    const decided = () => approvals() >= st.approvalsRequired || rejection() !== undefined || !!cancellation;
    await transition('pending_approval', 'payout.approval_required', {
      purpose: 'approval_timeout',
      ms: p.approvalTimeoutMs,
    });
    if (!(await condition(decided, p.approvalTimeoutMs))) {
      await transition('pending_approval', 'payout.approval_escalated', {
        purpose: 'approval_escalation_timeout',
        ms: p.escalationTimeoutMs,
      });
      await condition(decided, p.escalationTimeoutMs);
    }
    if (cancellation) return 'cancelled';
    const rejected = rejection();
    if (rejected)
      return { code: 'approval_rejected', message: `rejected by ${rejected.actor}: ${rejected.reason}` };
    if (approvals() >= st.approvalsRequired) return 'approved';
    return { code: 'approval_timeout', message: 'approval not given before the escalation deadline' };
  }

  async function attempt(provider: string, attemptNo: number, route: RoutePlan): Promise<AttemptResult> {
    if (operatorVerdict !== undefined && patched(ATTEMPT_HYGIENE)) {
      // Given while the previous attempt was being decided by the provider itself: it was about that one.
      st.reasons.push({
        code: 'operator_resolution_ignored',
        message: `${operatorVerdict.by.actor}'s verdict (${operatorVerdict.outcome}) came after attempt ${attemptNo - 1} was decided; ignored`,
      });
      operatorVerdict = undefined;
    }
    const rec: AttemptRecord = {
      attemptNo,
      provider,
      idempotencyKey: `${payoutId}:${attemptNo}`,
      outcome: 'submitting',
    };
    st.attempts.push(rec);
    st.provider = provider;
    await transition('submitting');
    const ref = { payoutId, provider, attemptNo };
    let answered = false;
    try {
      sentAttempts.add(attemptNo);
      const submitted = await submit({ ...ref, rail: route.rail });
      answered = true;
      if (submitted.state === 'paid') return mark(rec, 'paid');
      rec.outcome = 'pending';
      return await awaitConfirmation(rec);
    } catch (err) {
      const type = failureType(err);
      // Recording a later state failed, not the submission: the attempt's outcome is as it stands.
      if (answered && type === PayoutFailure.dataError && patched(DATA_ERROR_REVIEW)) throw err;
      if (type === PayoutFailure.providerDeclined) return mark(rec, 'declined', failureMessage(err));
      if (type === PayoutFailure.providerOutage) return mark(rec, 'outage', failureMessage(err));
      if (type === PayoutFailure.destinationChanged) {
        mark(rec, 'not_paid', 'nothing submitted: the destination changed after screening');
        return { stop: { code: 'destination_changed', message: failureMessage(err) } };
      }
      // A timeout, exhausted retries or anything unexpected: the provider may have paid. Never guess.
      rec.outcome = 'unknown';
      rec.detail = failureMessage(err);
      return await resolveUnknown(rec);
    }
  }

  /** submitToProvider, again with the same key for as long as the database is what stops it. */
  async function submit(input: Parameters<PayoutActivities['submitToProvider']>[0]) {
    let waitMs = FIRST_DATABASE_WAIT_MS;
    for (;;) {
      try {
        return await submission.submitToProvider(input);
      } catch (err) {
        if (failureType(err) !== PayoutFailure.databaseUnavailable || !patched(OUTLAST_DATABASE_OUTAGES))
          throw err;
        log.warn('database unavailable while submitting; submitting the same attempt again', {
          payoutId,
          error: failureMessage(err),
        });
        await sleep(waitMs);
        waitMs = Math.min(waitMs * 2, MAX_DATABASE_WAIT_MS);
      }
    }
  }

  function mark(rec: AttemptRecord, outcome: AttemptRecord['outcome'], detail?: string): AttemptResult {
    rec.outcome = outcome;
    if (detail) rec.detail = detail;
    return outcome === 'paid' ? 'paid' : 'not_paid';
  }

  /** Pending at the provider: wait for its webhook, polling its status meanwhile, up to the deadline. */
  async function awaitConfirmation(rec: AttemptRecord): Promise<AttemptResult> {
    await transition('awaiting_confirmation', undefined, {
      purpose: 'confirmation_deadline',
      ms: policy.confirmationDeadlineMs,
    });
    const deadline = Date.now() + policy.confirmationDeadlineMs;
    let poll = policy.confirmationPollMs;
    while (Date.now() < deadline) {
      const verdict = await observe(rec, Math.min(poll, deadline - Date.now()));
      if (verdict) return verdict;
      // Webhooks confirm; polls are the fallback and need not stay at their first interval for a day.
      if (patched(ATTEMPT_HYGIENE)) poll = Math.max(poll, Math.min(poll * 2, MAX_CONFIRMATION_POLL_MS));
    }
    rec.outcome = 'unknown';
    rec.detail = 'no confirmation before the deadline';
    return resolveUnknown(rec);
  }

  /** Unknown outcome: status checks until the deadline, then operator review with periodic re-checks. */
  async function resolveUnknown(rec: AttemptRecord): Promise<AttemptResult> {
    await transition('unknown_outcome', 'payout.unknown_outcome', {
      purpose: 'unknown_outcome_deadline',
      ms: policy.unknownOutcomeDeadlineMs,
    });
    const deadline = Date.now() + policy.unknownOutcomeDeadlineMs;
    let backoff = policy.confirmationPollMs;
    while (Date.now() < deadline) {
      const verdict = await observe(rec, Math.min(backoff, deadline - Date.now()), true);
      if (verdict) return verdict;
      backoff = Math.min(backoff * 2, policy.reviewRecheckMs);
    }
    await transition('review', 'payout.review_required', {
      purpose: 'review_recheck',
      ms: policy.reviewRecheckMs,
    });
    for (;;) {
      const verdict = await observe(rec, policy.reviewRecheckMs, true);
      if (verdict) return verdict;
    }
  }

  /**
   * Waits up to `ms` for a provider event or an operator verdict, then asks the provider. Returns a verdict
   * once the attempt is known to have paid or known not to have paid; undefined while still unknown.
   */
  async function observe(rec: AttemptRecord, ms: number, notFoundMeansUnpaid = false) {
    const decisive = () => providerEvents.has(rec.idempotencyKey) || operatorVerdict !== undefined;
    if (ms > 0) await condition(decisive, ms);
    const event = providerEvents.get(rec.idempotencyKey);
    if (event) return mark(rec, event.type === 'failed' ? 'failed' : 'paid', event.reason);
    if (operatorVerdict) {
      const verdict = operatorVerdict;
      operatorVerdict = undefined;
      st.reasons.push({
        code: 'operator_resolution',
        message: `${verdict.by.actor} resolved as ${verdict.outcome}${verdict.force ? ' (forced)' : ''}: ${verdict.reason}`,
      });
      if (verdict.outcome === 'not_paid' && patched(STOP_BEFORE_OPERATOR_FAILOVER)) {
        // The provider may still hold the attempt (e.g. a batch not yet run): stop it there before the next
        // provider is tried, or both could pay.
        const stopped = await stopAttempt(rec);
        if (stopped === 'paid') return mark(rec, 'paid', 'the provider reports it paid');
        // Force overrides only this: the provider could not be made to stop, the operator says it never pays.
        if (stopped === 'unstoppable' && !verdict.force) {
          st.reasons.push({
            code: 'operator_resolution_refused',
            message:
              `${rec.provider} still holds attempt ${rec.attemptNo} or could not be asked to cancel it; it may still ` +
              'pay. Ask the provider; resolve again, or with force once it has confirmed it will never pay',
          });
          refusedAttempt = rec.attemptNo;
          if (patched(ATTEMPT_HYGIENE)) {
            const refusals = st.reasons.filter((r) => r.code === 'operator_resolution_refused').length;
            deliver(
              await acts.recordPayoutState({
                status: snapshot(),
                event: 'payout.resolution_refused',
                eventKey: `${rec.attemptNo}.${refusals}`,
              }),
            );
          } else {
            await transition('review', 'payout.review_required', {
              purpose: 'review_recheck',
              ms: policy.reviewRecheckMs,
            });
          }
          return undefined;
        }
      }
      return mark(rec, verdict.outcome === 'paid' ? 'paid' : 'not_paid', verdict.reason);
    }
    try {
      const voidIfUnknown = notFoundMeansUnpaid && patched(VOID_BEFORE_FAILOVER);
      const status = await statusChecks.checkProviderStatus({
        payoutId,
        provider: rec.provider,
        attemptNo: rec.attemptNo,
        ...(voidIfUnknown ? { voidIfUnknown } : {}),
      });
      if (status.state === 'returned') noteReturned(rec, status.reason);
      if (status.state === 'paid' || status.state === 'returned') return mark(rec, 'paid');
      if (status.state === 'failed') return mark(rec, 'failed', status.reason);
      // The provider has no record of the key after we waited (and, since the patch, has voided it).
      if (status.state === 'not_found' && notFoundMeansUnpaid)
        return mark(rec, 'not_paid', status.reason ?? 'unknown to provider');
    } catch (err) {
      log.warn('provider status check failed; outcome still unknown', {
        payoutId,
        error: failureMessage(err),
      });
    }
    return undefined;
  }

  /** A return the provider reported through its status, not a webhook: reversed after settling all the same. */
  function noteReturned(rec: AttemptRecord, reason?: string) {
    if (providerEvents.get(rec.idempotencyKey)?.type === 'returned' || !patched(ATTEMPT_HYGIENE)) return;
    providerEvents.set(rec.idempotencyKey, {
      eventId: `status.returned.${rec.idempotencyKey}`,
      idempotencyKey: rec.idempotencyKey,
      type: 'returned',
      provider: rec.provider,
      ...(reason ? { reason } : {}),
    });
  }

  /** Cancels the attempt at its provider (voiding an unknown key): did it stop, turn out paid, or neither? */
  async function stopAttempt(rec: AttemptRecord): Promise<'stopped' | 'paid' | 'unstoppable'> {
    try {
      const status = await statusChecks.checkProviderStatus({
        payoutId,
        provider: rec.provider,
        attemptNo: rec.attemptNo,
        cancelAttempt: true,
      });
      if (status.state === 'returned') noteReturned(rec, status.reason);
      if (status.state === 'paid' || status.state === 'returned') return 'paid';
      return status.state === 'failed' || status.state === 'not_found' ? 'stopped' : 'unstoppable';
    } catch (err) {
      log.warn('cancelling a provider attempt failed; it may still pay', {
        payoutId,
        error: failureMessage(err),
      });
      return 'unstoppable';
    }
  }

  async function paidThenWatchReturns(attemptNo: number, provider: string): Promise<PayoutStatus> {
    const window = { purpose: 'return_window', ms: policy.returnWindowMs };
    if (fused) {
      const status = statusIn('paid', window);
      deliver(await local.settleAndRecord({ payoutId, provider, attemptNo, status, event: 'payout.paid' }));
      enter('paid', window);
    } else {
      await acts.settlePayout({ payoutId, provider, attemptNo });
      await transition('paid', 'payout.paid', window);
    }
    const key = `${payoutId}:${attemptNo}`;
    const returned = () => providerEvents.get(key)?.type === 'returned';
    const reverse = async () => {
      const event = providerEvents.get(key);
      await acts.reversePayout({ payoutId, reason: event?.reason ?? 'returned by provider' });
      return finish('returned', 'payout.returned', {
        code: 'returned',
        message: event?.reason ?? 'returned by provider',
      });
    };
    if (await condition(returned, policy.returnWindowMs)) return reverse();
    const completed = await finish('paid', 'payout.completed');
    // A return signalled while the completion was being recorded reached a running workflow, so the
    // closed-payout path (src/payouts/late-return.ts) never sees it: act on it here.
    if (returned() && patched(RETURN_DURING_COMPLETION)) return reverse();
    return completed;
  }
}

function validateApproval(st: PayoutStatus, input: PayoutInput, decision: ApprovalDecision): void {
  const { approver } = decision;
  if (approver.role !== 'approver') throw new Error(`role ${approver.role} cannot approve payouts`);
  if (approver.actor === input.requestedBy.actor) {
    throw new Error(`${approver.actor} requested this payout and cannot approve it`);
  }
  if (st.state !== 'pending_approval')
    throw new Error(`payout ${st.payoutId} is ${st.state}, not pending approval`);
  if (st.approvals.some((a) => a.actor === approver.actor)) {
    throw new Error(`${approver.actor} has already decided on payout ${st.payoutId}`);
  }
  if (!decision.reason.trim()) throw new Error('a decision needs a reason');
}

function refuseUnstorable(field: string, text: string): void {
  const why = unstorableText(field, text);
  if (why) throw new Error(why);
}

/** A status with every caller-given text left out: what can still be recorded when that text cannot. */
function withoutFreeText(status: PayoutStatus): PayoutStatus {
  return {
    ...status,
    approvals: status.approvals.map((a) => ({ ...a, reason: '' })),
    attempts: status.attempts.map(({ detail: _detail, ...a }) => a),
    reasons: status.reasons.map((r) => (r.code === 'data_error' ? r : { ...r, message: '' })),
  };
}

/** The step a DataError names (activities/data-errors.ts), or `unknown`. */
function failureStep(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const details = cause instanceof ApplicationFailure ? cause.details : undefined;
  const step = (details?.[0] as { step?: unknown } | undefined)?.step;
  return typeof step === 'string' ? step : 'unknown';
}

function failureType(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function failureMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
