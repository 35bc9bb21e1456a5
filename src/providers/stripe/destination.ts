// The payee's Stripe destination, as the payout service hands it over (decrypted, inside the activity):
// the id of the payee's connected account, and optionally which of its external accounts to pay.
// - card destination `acct_…` or `acct_…:card_…` / `acct_…:ba_…` (cardToken keeps its case)
// - wallet destination {provider: "stripe", walletId: "acct_…"} → `stripe/acct_…`
import { ProviderError } from '../errors.ts';

export interface StripeDestination {
  account: string;
  /** card_… or ba_… of the connected account; absent: its default external account for the currency. */
  externalAccount?: string;
}

const ACCOUNT = /^acct_[A-Za-z0-9]{6,64}$/;
const EXTERNAL = /^(card|ba)_[A-Za-z0-9]{6,64}$/;

export function parseStripeDestination(provider: string, destination: string): StripeDestination {
  const raw = destination.startsWith('stripe/') ? destination.slice('stripe/'.length) : destination;
  const [account, external, extra] = raw.split(':');
  if (
    account &&
    ACCOUNT.test(account) &&
    extra === undefined &&
    (external === undefined || EXTERNAL.test(external))
  ) {
    return external ? { account, externalAccount: external } : { account };
  }
  throw new ProviderError(
    provider,
    'hard_decline',
    'invalid_destination',
    'the destination is not a Stripe connected account (acct_…, optionally acct_…:card_… or acct_…:ba_…)',
  );
}

// Stripe amounts are in the currency's smallest unit: the payout's scale must be that exponent.
const ZERO_DECIMAL = new Set('BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF'.split(' '));

export function stripeScale(currency: string): number {
  return ZERO_DECIMAL.has(currency) ? 0 : 2;
}
