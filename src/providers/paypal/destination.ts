// The payee's PayPal or Venmo receiver, from a `wallet` destination as the payout service hands it over
// (decrypted, inside the activity): `<provider>/<walletId>` with the wallet id normalised (upper-cased, spaces
// and hyphens removed). provider `paypal`: an email, a PayPal payer id (13 letters/digits) or a phone number;
// provider `venmo`: a US mobile number or an email (Venmo pays USD to US recipients only).
import { ProviderError } from '../errors.ts';

export type RecipientType = 'EMAIL' | 'PHONE' | 'PAYPAL_ID';
export type RecipientWallet = 'PAYPAL' | 'VENMO';

export interface PaypalReceiver {
  wallet: RecipientWallet;
  recipientType: RecipientType;
  /** As PayPal wants it: lower-case email, payer id, or phone digits (10 digits for a US number). */
  receiver: string;
}

const EMAIL = /^[^@\s/]{1,64}@[^@\s/]+\.[^@\s/]{2,}$/;
const PAYER_ID = /^[A-Z0-9]{13}$/;
const PHONE = /^\+?\d{10,15}$/;

/** A US number as 10 digits (PayPal's examples are national numbers), else the digits with country code. */
function phoneDigits(raw: string): { digits: string; us: boolean } {
  const d = raw.replace(/^\+/, '');
  if (d.length === 10) return { digits: d, us: true };
  if (d.length === 11 && d.startsWith('1')) return { digits: d.slice(1), us: true };
  return { digits: d, us: false };
}

export function parsePaypalDestination(provider: string, destination: string): PaypalReceiver {
  const slash = destination.indexOf('/');
  const network = slash > 0 ? destination.slice(0, slash).toLowerCase() : 'paypal';
  const id = slash > 0 ? destination.slice(slash + 1) : destination;
  const refuse = (why: string) => new ProviderError(provider, 'hard_decline', 'invalid_destination', why);
  if (network !== 'paypal' && network !== 'venmo') {
    throw refuse(`the wallet is at "${network}", not PayPal or Venmo`);
  }
  const wallet: RecipientWallet = network === 'venmo' ? 'VENMO' : 'PAYPAL';
  if (EMAIL.test(id) && id.length <= 127)
    return { wallet, recipientType: 'EMAIL', receiver: id.toLowerCase() };
  if (PHONE.test(id)) {
    const { digits, us } = phoneDigits(id);
    if (wallet === 'VENMO' && !us) throw refuse('Venmo pays US mobile numbers only');
    return { wallet, recipientType: 'PHONE', receiver: digits };
  }
  if (wallet === 'PAYPAL' && PAYER_ID.test(id)) return { wallet, recipientType: 'PAYPAL_ID', receiver: id };
  throw refuse(
    wallet === 'VENMO'
      ? 'a Venmo destination is a US mobile number or an email'
      : 'a PayPal destination is an email, a PayPal payer id or a phone number',
  );
}

// PayPal amounts are decimal strings; these currencies take no decimals at PayPal.
const NO_DECIMALS = new Set(['JPY', 'HUF', 'TWD']);

export function paypalScale(currency: string): number {
  return NO_DECIMALS.has(currency) ? 0 : 2;
}

/** Integer minor units → PayPal's decimal string, without floating point ("2500", 2 → "25.00"). */
export function paypalValue(minor: bigint, scale: number): string {
  if (scale === 0) return minor.toString();
  const digits = minor.toString().padStart(scale + 1, '0');
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}
