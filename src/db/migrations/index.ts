import * as ledger0001 from './0001-ledger.ts';
import * as apiAuthAudit0010 from './0010-api-auth-audit.ts';
import * as payees0011 from './0011-payees.ts';
import * as providersWebhooks0030 from './0030-payout-providers-webhooks.ts';
import * as payouts0040 from './0040-payouts.ts';
import * as periods0050 from './0050-periods.ts';
import * as spendback0060 from './0060-spendback.ts';
import * as spendbackBonusClawback0061 from './0061-spendback-bonus-clawback.ts';
import * as idempotencyLeases0070 from './0070-idempotency-leases.ts';
import * as payoutDestinationPin0071 from './0071-payout-destination-pin.ts';
import * as payoutBulks0072 from './0072-payout-bulks.ts';
import * as manualReturns0073 from './0073-manual-returns.ts';
import * as approverTotpLockout0074 from './0074-approver-totp-lockout.ts';
import * as providerAttempts0080 from './0080-provider-attempts.ts';
import * as payeeTokensRateLimits0081 from './0081-payee-tokens-rate-limits.ts';
import * as assetCurrencies0082 from './0082-asset-currencies.ts';
import * as webhookEndpoints0083 from './0083-webhook-endpoints.ts';
import * as payoutSearch0084 from './0084-payout-search.ts';
import * as providerFees0085 from './0085-provider-fees.ts';
import * as payoutState0086 from './0086-payout-state.ts';

/**
 * A migration: a unique `name` and the `up` SQL. The SQL runs inside one transaction with
 * `search_path` set to the target schema: write unqualified table names, never `public.`; give
 * functions `SET search_path FROM CURRENT` so they keep resolving tables in their own schema.
 */
export interface Migration {
  readonly name: string;
  readonly up: string;
}

/** Applied in this order, each once per schema. Append new migrations at the end; never edit applied ones. */
export const migrations: readonly Migration[] = [
  ledger0001,
  apiAuthAudit0010,
  payees0011,
  providersWebhooks0030,
  payouts0040,
  periods0050,
  spendback0060,
  spendbackBonusClawback0061,
  idempotencyLeases0070,
  payoutDestinationPin0071,
  payoutBulks0072,
  manualReturns0073,
  approverTotpLockout0074,
  providerAttempts0080,
  payeeTokensRateLimits0081,
  assetCurrencies0082,
  webhookEndpoints0083,
  payoutSearch0084,
  providerFees0085,
  payoutState0086,
];
