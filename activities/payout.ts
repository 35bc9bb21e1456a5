// Payout activities: thin wrappers over the payout service that translate domain errors into the stable
// Temporal failure types the workflow matches (workflows/payout-activities.ts).
import { ApplicationFailure, Context } from '@temporalio/activity';
import { InsufficientFunds } from '../src/ledger/errors.ts';
import {
  DestinationChanged,
  PayoutAlreadyFinal,
  PayoutNotFound,
  type PayoutService,
  type Preloaded,
} from '../src/payouts/service.ts';
import { isProviderError, type ProviderErrorKind } from '../src/providers/errors.ts';
import { type PayoutActivities, PayoutFailure } from '../workflows/payout-activities.ts';
import { approvalsNeeded } from '../workflows/payout-decisions.ts';
import { classifyDataErrors } from './data-errors.ts';

const providerFailureType: Record<ProviderErrorKind, string> = {
  retryable: PayoutFailure.providerRetryable,
  outage: PayoutFailure.providerOutage,
  hard_decline: PayoutFailure.providerDeclined,
  timeout: PayoutFailure.providerTimeout,
};

/**
 * Whether the calling run is an operator's reset (its history copied from an earlier run): the started
 * event keeps the run id it was written under, which a reset changes. Asked only for a final row.
 */
async function isResetRun(): Promise<boolean> {
  const { client, info } = Context.current();
  if (!info.workflowExecution) return false;
  const { workflowId, runId } = info.workflowExecution;
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  return !!started?.originalExecutionRunId && started.originalExecutionRunId !== runId;
}

export function createPayoutActivities(service: PayoutService): PayoutActivities {
  /**
   * checkCompliance, assessRisk, planRoute as far as nothing stops the payout, from the rows admission read
   * (no SQL of their own); what they find for the row is collected in `pre.breakdown` for one write.
   */
  async function screen(payoutId: string, approvalsRequired: number, at: string, pre: Preloaded) {
    pre.breakdown = {};
    const compliance = await service.checkCompliance(payoutId, pre);
    if (compliance.blocked.length > 0) return { compliance };
    const risk = await service.assessRisk(payoutId, pre);
    if (approvalsNeeded({ approvalsRequired }, risk.reasons.length) > 0) return { compliance, risk };
    const plan = await service.planRoute(payoutId, true, new Date(at), pre);
    return { compliance, risk, plan };
  }

  // A database data error ends the payout in review (DataError) instead of being retried forever.
  return classifyDataErrors({
    async admitPayout({ input, status, at }) {
      const pre: Preloaded = {};
      const policy = await service.preparePayout(input, pre, { reset: isResetRun }).catch((err: unknown) => {
        if (err instanceof PayoutAlreadyFinal) {
          throw ApplicationFailure.create({
            type: PayoutFailure.payoutFinal,
            message: err.message,
            nonRetryable: true,
          });
        }
        if (!(err instanceof PayoutNotFound)) throw err;
        throw ApplicationFailure.create({
          type: PayoutFailure.payoutRowMissing,
          message: err.message,
          nonRetryable: true,
        });
      });
      // Screened in the same step, from the row and payee already read: one step less per payout. First, so
      // that its breakdown is written by the reserved state's own statement.
      const screened = await screen(input.payoutId, policy.approvalsRequired, at, pre);
      try {
        // The hold, the state it puts the payout in and the breakdown commit together.
        await service.reserveFunds(input.payoutId, pre, status);
      } catch (err) {
        if (err instanceof InsufficientFunds) return { rejected: err.message };
        throw err;
      }
      // Without a state to record (nothing to write it with), the breakdown is written on its own.
      await service.saveBreakdown(input.payoutId, pre);
      return { policy, screened };
    },
    assessRisk: ({ payoutId }) => service.assessRisk(payoutId),
    planRoute: ({ payoutId, riskClear, at }) => service.planRoute(payoutId, riskClear, new Date(at)),
    async submitToProvider(input) {
      try {
        return await service.submitToProvider(input);
      } catch (err) {
        if (err instanceof DestinationChanged) {
          throw ApplicationFailure.create({
            type: PayoutFailure.destinationChanged,
            message: err.message,
            nonRetryable: true,
          });
        }
        if (!isProviderError(err)) throw err;
        throw ApplicationFailure.create({
          type: providerFailureType[err.kind],
          message: err.message,
          nonRetryable: err.kind !== 'retryable',
          details: [{ provider: err.provider, code: err.code }],
        });
      }
    },
    async checkProviderStatus(input) {
      const status = await service.checkProviderStatus(input);
      return { state: status.state, ...(status.reason ? { reason: status.reason } : {}) };
    },
    settleAndRecord: ({ status, event, ...attempt }) => service.settleAndRecord(attempt, status, event),
    releaseFunds: ({ payoutId, reason }) => service.releaseFunds(payoutId, reason),
    returnPayout: (input) => service.returnPayout(input),
    recordPayoutState: ({ status, event, eventKey }) => service.recordPayoutState(status, event, eventKey),
    deliverWebhook: ({ eventId }) => service.deliverWebhook(eventId),
  } satisfies PayoutActivities);
}
