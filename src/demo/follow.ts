// Following a payout to its end: its states as they change (GET /v1/payouts/:id, polled), and when it stops
// short of `paid`, why — which setting of the instance holds it there and what to set for a trial.
import { type DemoApi, DemoError, type Json } from './api.ts';

const FINAL = ['paid', 'returned', 'failed', 'rejected', 'cancelled'];

/** Risk reason codes (src/risk/rules.ts) → the setting behind them and its trial value. */
const RISK_SETTINGS: Record<string, string> = {
  destination_cool_off:
    'RISK_DESTINATION_COOL_OFF (a new destination is held; for a trial: RISK_DESTINATION_COOL_OFF=0s)',
  velocity_count: 'RISK_MAX_DAILY_COUNT (payouts per payee per 24 h, default 5; raise it)',
  velocity_amount: 'RISK_MAX_DAILY_AMOUNT (amount per payee per 24 h; raise it, e.g. USD:2000000)',
  destination_shared: 'RISK_MAX_SHARED_DESTINATION_PAYEES (the bank account is used by another payee)',
  amount_anomaly: 'RISK_ANOMALY_MULTIPLE (amount far above the payee’s trailing average; raise it)',
  approval_thresholds_unset:
    'APPROVAL_THRESHOLD_SINGLE / APPROVAL_THRESHOLD_DUAL (the currency has no threshold: every payout needs two approvers)',
};

const reasonsText = (p: Json) =>
  (p.reasons ?? []).map((r: { code: string; message: string }) => `${r.code}: ${r.message}`).join('; ');

/** Why a payout sits in `state` instead of going on; empty when it is simply on its way. */
export function diagnose(p: Json, o: { approvalExpected: boolean }): string {
  const settings = (p.reasons ?? [])
    .map((r: { code: string }) => RISK_SETTINGS[r.code])
    .filter((s: string | undefined) => s !== undefined);
  const settingHint = settings.length
    ? ` Setting: ${settings.join('; ')}; restart npm start after changing it.`
    : '';
  switch (p.state) {
    case 'pending_approval':
      return o.approvalExpected
        ? ''
        : `held for approval by the risk rules (${reasonsText(p)}).${settingHint}`;
    case 'compliance_hold':
      return `held by compliance (${reasonsText(p)}); an operator clears it with POST /v1/payouts/${p.id}/compliance-clear.`;
    case 'scheduled': {
      const at = p.nextTimer?.at;
      return at
        ? `waiting for its payout window at ${at} (${p.nextTimer.purpose}). For a trial: PAYOUT_WINDOW_EVERY=1m (a window every minute; npm start's embedded default).`
        : '';
    }
    case 'awaiting_confirmation':
      return 'submitted; waiting for the provider to confirm (the default sandbox settles its batch rail every 5 s and confirms by webhook; check DISBURSE_PROVIDERS if it was changed).';
    case 'unknown_outcome':
    case 'review':
      return `the provider's outcome is not known (${reasonsText(p)}); an operator resolves it with POST /v1/payouts/${p.id}/resolve.`;
    default:
      return FINAL.includes(p.state) && p.state !== 'paid'
        ? `ended ${p.state} (${reasonsText(p)}).${settingHint}`
        : '';
  }
}

export interface FollowOptions {
  /** Resolve once the payout is in one of these states. */
  until: string[];
  /** Give up after this long (ms). */
  waitMs: number;
  pollMs?: number;
  approvalExpected: boolean;
  /** Prints a state change. */
  onState: (payout: Json, elapsedMs: number) => void;
}

/**
 * Polls the payout until it reaches one of `until`. Ends early (DemoError) when it reaches another final
 * state or, being held for a reason the demo cannot wait out (risk review, compliance), stays there; on the
 * deadline the error names the state it is stuck in and why.
 */
export async function follow(api: DemoApi, key: string, payoutId: string, o: FollowOptions): Promise<Json> {
  const started = Date.now();
  let last = '';
  let payout: Json;
  for (;;) {
    payout = await api.call(key, 'GET', `/v1/payouts/${payoutId}`);
    if (payout.state !== last) {
      last = payout.state;
      o.onState(payout, Date.now() - started);
    }
    if (o.until.includes(payout.state)) return payout;
    const why = diagnose(payout, { approvalExpected: o.approvalExpected });
    const held = ['pending_approval', 'compliance_hold'].includes(payout.state) && why !== '';
    if (FINAL.includes(payout.state) || held) {
      throw new DemoError(`payout ${payoutId} ${why || `is ${payout.state}`}`);
    }
    const windowAt = payout.state === 'scheduled' ? Date.parse(payout.nextTimer?.at ?? '') : Number.NaN;
    if (windowAt > started + o.waitMs) {
      throw new DemoError(`payout ${payoutId} is scheduled beyond the demo's wait: ${why}`);
    }
    if (Date.now() - started > o.waitMs) {
      throw new DemoError(
        `payout ${payoutId} did not reach ${o.until.join(' or ')} within ${Math.round(o.waitMs / 1000)} s: it is stuck in ${payout.state}${why ? ` — ${why}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
  }
}
