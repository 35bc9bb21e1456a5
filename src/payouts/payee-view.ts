// What a payee sees of their own payout. Compliance, risk and approval details (sanctions list references,
// risk codes, who requested or approved and why, operators' notes, provider messages) are for the platform's
// staff; a payee sees the state, amounts, rail, timer, attempt outcomes and reasons meant for them.
import type { PayoutState, Reason } from './state.ts';

const FUNDS_BACK = 'the funds are back in the wallet';
const NOT_APPROVED = {
  code: 'not_approved',
  message: `The payout was not approved after review; ${FUNDS_BACK}`,
};

/** Public reasons: null keeps the reason as it is; anything not listed is internal and hidden. */
const PUBLIC: Record<string, Reason | null> = {
  insufficient_funds: null,
  no_destination: null,
  destination_changed: null,
  no_provider: null,
  returned: null,
  // Their own messages name people or providers' answers.
  cancelled: { code: 'cancelled', message: `The payout was cancelled before it was sent; ${FUNDS_BACK}` },
  all_providers_failed: { code: 'all_providers_failed', message: `No provider could pay it; ${FUNDS_BACK}` },
  route_instant: { code: 'route_instant', message: 'Sent on the instant rail' },
  // Its message may say the payout was scheduled because risk rules flagged it.
  route_scheduled: { code: 'route_scheduled', message: 'Scheduled for the next payout window' },
  approval_rejected: NOT_APPROVED,
  approval_timeout: NOT_APPROVED,
  compliance_timeout: NOT_APPROVED,
};

/** States in which the payout waits for people (compliance, approvers, an operator). */
const UNDER_REVIEW: readonly PayoutState[] = ['compliance_hold', 'pending_approval', 'review'];

export function publicReasons(state: PayoutState, reasons: readonly Reason[]): Reason[] {
  const shown: Reason[] = [];
  for (const r of reasons) {
    if (!Object.hasOwn(PUBLIC, r.code)) continue;
    shown.push(PUBLIC[r.code] ?? { code: r.code, message: r.message });
  }
  if (UNDER_REVIEW.includes(state)) {
    shown.push({ code: 'under_review', message: 'The payout is being reviewed before it is sent' });
  }
  return shown;
}

interface PayoutView {
  state: PayoutState;
  reasons: Reason[];
  requestedBy?: string | undefined;
  approvals?: unknown[] | undefined;
  attempts: { detail?: string | undefined }[];
}

/** The payout as a payee token may see it: no identities, no provider messages, public reasons only. */
export function redactForPayee<V extends PayoutView>(view: V): V {
  const { requestedBy: _requester, approvals: _approvers, ...shown } = view;
  return {
    ...shown,
    attempts: view.attempts.map(({ detail: _providerMessage, ...attempt }) => attempt),
    reasons: publicReasons(view.state, view.reasons),
  } as V;
}
