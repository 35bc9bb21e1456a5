// The payee's bank_account destination, as the payout service hands it over (decrypted, inside the activity:
// its identifying parts joined by '/', see src/payees/destinations.ts) → a Wise recipient account body.
// - `iban/<IBAN>`: a GB IBAN → GBP sort_code (sort code and account number are inside it); any other → EUR iban
// - `domestic/GB/<sort code>/<account>` → GBP sort_code
// - `domestic/US/<ABA routing>/<account>` → USD aba (checking)
// Anything else is a hard decline naming the field Wise would need: nothing is sent.
import { ProviderError } from '../errors.ts';

export type WiseRecipientType = 'iban' | 'sort_code' | 'aba';

export interface WiseRecipient {
  /** The currency the account receives: the target currency of the quote. */
  currency: string;
  type: WiseRecipientType;
  /** Recipient `details` without the holder's name and legal type (added by the adapter). Bank data: never log. */
  details: Record<string, string>;
}

/** Countries whose IBAN accounts Wise pays in EUR (SEPA members using the euro and SEPA EUR receivers). */
const EUR_IBAN_COUNTRIES = new Set(
  'AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK MC SM AD VA'.split(' '),
);

const SUPPORTED =
  'Wise is paid to an IBAN (EUR), a sort code + account number (GB, GBP) or an ABA routing + account number (US, USD)';

export function wiseRecipientFor(provider: string, destination: string): WiseRecipient {
  const parts = destination.split('/');
  const decline = (message: string) =>
    new ProviderError(provider, 'hard_decline', 'unsupported_destination', `${message}. ${SUPPORTED}`);
  if (parts[0] === 'iban' && parts.length === 2) {
    const iban = parts[1]!.replace(/\s/g, '').toUpperCase();
    const country = iban.slice(0, 2);
    if (country === 'GB' && /^GB\d{2}[A-Z]{4}\d{14}$/.test(iban)) {
      return {
        currency: 'GBP',
        type: 'sort_code',
        details: { sortCode: iban.slice(8, 14), accountNumber: iban.slice(14) },
      };
    }
    if (!EUR_IBAN_COUNTRIES.has(country)) {
      throw decline(`an IBAN of ${country} has no EUR route here; the destination needs a domestic account`);
    }
    return { currency: 'EUR', type: 'iban', details: { iban } };
  }
  if (parts[0] === 'domestic' && parts.length === 4) {
    const [, country, routing, account] = parts as [string, string, string, string];
    const r = routing.replace(/[\s-]/g, '');
    const a = account.replace(/[\s-]/g, '');
    if (country === 'GB') {
      if (!/^\d{6}$/.test(r))
        throw decline('missing field sortCode: routingNumber must be a 6-digit sort code');
      if (!/^\d{8}$/.test(a)) throw decline('missing field accountNumber: a GB account number has 8 digits');
      return { currency: 'GBP', type: 'sort_code', details: { sortCode: r, accountNumber: a } };
    }
    if (country === 'US') {
      if (!/^\d{9}$/.test(r))
        throw decline('missing field abartn: routingNumber must be a 9-digit ABA number');
      if (!/^\d{4,17}$/.test(a)) throw decline('missing field accountNumber: a US account has 4-17 digits');
      return {
        currency: 'USD',
        type: 'aba',
        details: { abartn: r, accountNumber: a, accountType: 'CHECKING' },
      };
    }
    throw decline(`a domestic account in ${country} is not mapped (missing field: iban)`);
  }
  throw decline(
    'the destination is not a bank account (missing field: iban or accountNumber + routingNumber)',
  );
}

// Wise amounts are decimals in the currency's own unit: the payout's scale must be that exponent.
const ZERO_DECIMAL = new Set('JPY KRW VND CLP ISK UGX'.split(' '));

export function wiseScale(currency: string): number {
  return ZERO_DECIMAL.has(currency) ? 0 : 2;
}
