// What a provider charged beside a payout, when the payee bears it (ProviderCharge.bearer, e.g. a Circle
// instance with networkFeeBearer "payee"). Circle reports a transfer's network fee only after the transfer,
// so it cannot come out of the amount sent: the platform pays it (booked as its expense by the settlement,
// service.ts bookProviderCharges) and recovers it from the payee's wallet after the fact.
import type { Database } from '../db/open.ts';
import { PLATFORM } from '../ledger/accounts.ts';
import { lockPayeeBalances, postedKeys } from '../ledger/index.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { money } from '../money/index.ts';
import type { ProviderCharge, ProviderConversion } from '../providers/types.ts';

/** A network fee the provider charged beside a payout (one of zero is none). */
export const isNetworkFee = (c: ProviderCharge) => c.kind === 'network_fee' && BigInt(c.amount.amount) > 0n;
export const hasNetworkFee = (charges: readonly ProviderCharge[]) => charges.some(isNetworkFee);

/** What of a provider's conversion source became its target (the source less the provider's fee). */
export const convertedOf = (c: ProviderConversion) => BigInt(c.source.amount) - BigInt(c.fee.amount);

/** 1 major unit of the source = (target / 10^ts) / (converted / 10^ss) major units of the target: exact. */
export const conversionRate = (c: ProviderConversion) => ({
  numerator: BigInt(c.target.amount) * 10n ** BigInt(c.source.scale),
  denominator: convertedOf(c) * 10n ** BigInt(c.target.scale),
});

/**
 * Recovers the network fee the payee bears, in the payout's currency: from available, the rest as a receivable
 * netted against later earnings (as a clawback beyond the balance, src/periods/netting.ts), so the wallet never
 * goes negative; into provider_fees, then FX legs move it into the fee's asset there. A fee in the provider's
 * asset is valued at this payout's own conversion rate, rounded down: the payee never pays more than was
 * charged, the sub-unit remainder stays the platform's. Its own transaction — after the settlement's has
 * committed (that one holds provider_fees) — with the balances read under the ledger's lock, and once per
 * payout (`keys`). Nothing when the payee bears no fee, or one it cannot be valued in its currency.
 */
export async function recoverPayeeNetworkFee(
  deps: { db: Database; ledger: Ledger },
  p: { id: string; payeeId: string; currency: string; provider: string; key: string },
  reported: { charges: readonly ProviderCharge[]; conv: ProviderConversion | undefined },
  keys: { posting: string; fx: string },
): Promise<void> {
  const borne = reported.charges.filter((c) => c.kind === 'network_fee' && c.bearer === 'payee');
  const asset = borne[0]?.amount.currency;
  const fee = borne
    .filter((c) => c.amount.currency === asset)
    .reduce((sum, c) => sum + BigInt(c.amount.amount), 0n);
  if (!asset || fee <= 0n) return;
  const conv = asset === p.currency ? undefined : reported.conv;
  if (asset !== p.currency && (conv?.source.currency !== p.currency || conv.target.currency !== asset))
    return;
  const due = conv ? (fee * convertedOf(conv)) / BigInt(conv.target.amount) : fee;
  if (due <= 0n) return; // less than a minor unit of the payout's currency: the platform's
  const { db } = deps;
  await db.em().transactional(async (tx) => {
    const held = await lockPayeeBalances(tx, db.schema, [p.payeeId], ['payee_available', 'payee_receivable']);
    if ((await postedKeys(tx, db.schema, [keys.posting])).size > 0) return;
    const available =
      held.find((b) => b.kind === 'payee_available' && b.currency === p.currency)?.balance ?? 0n;
    const fromAvailable = due < available ? due : available;
    const m = (v: bigint) => money(v, p.currency);
    const on = deps.ledger.within(tx);
    const metadata = { payoutId: p.id, provider: p.provider, attemptKey: p.key, fee: money(fee, asset) };
    await on.post({
      type: 'payout.network_fee_payee',
      idempotencyKey: keys.posting,
      metadata,
      entries: [
        ...(fromAvailable > 0n
          ? [{ account: { kind: 'payee_available' as const, owner: p.payeeId }, amount: m(-fromAvailable) }]
          : []),
        ...(due > fromAvailable
          ? [
              {
                account: { kind: 'payee_receivable' as const, owner: p.payeeId },
                amount: m(fromAvailable - due),
              },
            ]
          : []),
        { account: { kind: 'provider_fees', owner: PLATFORM }, amount: m(due) },
      ],
    });
    if (conv) {
      await on.convertFx({
        owner: PLATFORM,
        accountKind: 'provider_fees',
        from: m(due),
        toCurrency: asset,
        rate: conversionRate(conv),
        idempotencyKey: keys.fx,
        metadata,
      });
    }
  });
}
