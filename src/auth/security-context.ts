// The keys and policies the API's authentication and field encryption run with.
import type { Keyring } from '../crypto/index.ts';
import type { TotpLockPolicy } from './totp-lockout.ts';

export interface SecurityContext {
  /** Encrypts destinations, TINs and approver TOTP secrets. */
  keyring: Keyring;
  /** HMAC key of destination fingerprints. */
  fingerprintKey: Buffer;
  /** HMAC key of payee tokens. */
  tokenSigningKey: Buffer;
  /** Lifetime of a payee token when the caller does not ask for one. */
  payeeTokenTtlSeconds: number;
  /** Longest payee token a caller may ask for (default: payeeTokenTtlSeconds). */
  payeeTokenMaxTtlSeconds?: number;
  totpIssuer: string;
  /** Wrong-code limits of approver TOTP (default: 5 wrong codes → locked 5 min, doubling up to a day). */
  totpLock?: TotpLockPolicy;
}
