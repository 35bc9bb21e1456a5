// How a provider's event bears on a payout: taken, ignored (not for this payout's attempts), or a payment
// the payout did not count, which may mean it was paid twice. One check for the running workflow and for the
// return path after it closed. Pure: the workflow bundle imports it.
import { type AttemptRecord, FINAL_STATES, type PayoutState, type Reason, UNPAID_OUTCOMES } from './state.ts';

export interface ReportedEvent {
  idempotencyKey: string;
  type: 'paid' | 'failed' | 'returned';
  /** Who reported it; absent (an event from before providers were named) is taken as it is. */
  provider?: string;
}

export type EventJudgement =
  | { take: true; reconcile?: undefined }
  | { take: false; why: string; reconcile?: undefined }
  /** Money moved under an attempt the payout counts as not paid (or a closed payout never counted). */
  | { take: false; why: string; reconcile: Reason };

export function judgeProviderEvent(
  payout: { state: PayoutState; attempts: readonly AttemptRecord[] },
  event: ReportedEvent,
): EventJudgement {
  const attempt = payout.attempts.find((a) => a.idempotencyKey === event.idempotencyKey);
  // Only the provider the attempt was sent to speaks for it: another provider cannot mark it paid or failed.
  if (event.provider !== undefined && attempt?.provider !== event.provider) {
    return { take: false, why: 'the attempt it names was not sent to that provider' };
  }
  if (event.type === 'paid' && attempt?.outcome !== 'paid') {
    const countedUnpaid = attempt !== undefined && UNPAID_OUTCOMES.includes(attempt.outcome);
    if (countedUnpaid || FINAL_STATES.includes(payout.state)) {
      const counted = attempt ? `counted ${attempt.outcome}` : 'not one of its attempts';
      return {
        take: false,
        why: 'possible double payment',
        reconcile: {
          code: 'reconcile_required',
          message: `${event.provider ?? 'the provider'} reports ${attempt ? `attempt ${attempt.attemptNo}` : event.idempotencyKey} paid; it is ${counted} and the payout is ${payout.state}; reconcile with the provider`,
        },
      };
    }
  }
  return { take: true };
}
