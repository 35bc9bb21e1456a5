/** Account kinds. `payee_*` accounts belong to a payee id; the others to 'platform' (or a named sub-ledger). */
export const ACCOUNT_KINDS = [
  'payee_available',
  'payee_held',
  'payee_restricted',
  'payee_receivable',
  'platform_funding',
  'provider_clearing',
  'fees_revenue',
  'tax_withholding',
  'spendback_revenue',
  'fx',
  /** The platform's expense for what providers charge beside a payout (Circle's network fee); ≤ 0. */
  'provider_fees',
] as const;

export type AccountKind = (typeof ACCOUNT_KINDS)[number];

export const PAYEE_KINDS = ['payee_available', 'payee_held', 'payee_restricted', 'payee_receivable'] as const;
export type PayeeAccountKind = (typeof PAYEE_KINDS)[number];

/** Kinds whose balance may never go below zero (also a CHECK constraint in the database). */
export const NON_NEGATIVE_KINDS: ReadonlySet<AccountKind> = new Set([
  'payee_available',
  'payee_held',
  'payee_restricted',
]);

export const PLATFORM = 'platform';

/** Identifies one single-currency account; created on first use. */
export interface AccountRef {
  readonly kind: AccountKind;
  /** Payee id for payee_* kinds; 'platform' (default for platform kinds) or a sub-ledger name otherwise. */
  readonly owner: string;
  readonly currency: string;
}

export function isAccountKind(value: unknown): value is AccountKind {
  return typeof value === 'string' && (ACCOUNT_KINDS as readonly string[]).includes(value);
}

export function isPayeeKind(kind: AccountKind): boolean {
  return kind.startsWith('payee_');
}

export function accountKey(a: { kind: string; owner: string; currency: string }): string {
  return `${a.kind}\u0000${a.owner}\u0000${a.currency}`;
}
