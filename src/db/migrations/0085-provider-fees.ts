/**
 * A platform account kind for what providers charge beside a payout (Circle's blockchain network fee, taken
 * from the wallet on top of the transfer): booked against provider_clearing, so clearing still equals what
 * left the provider balance.
 */
export const name = '0085-provider-fees';

export const up = `
ALTER TABLE ledger_accounts DROP CONSTRAINT IF EXISTS ledger_accounts_kind_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN (
  'payee_available', 'payee_held', 'payee_restricted', 'payee_receivable',
  'platform_funding', 'provider_clearing', 'fees_revenue', 'tax_withholding', 'spendback_revenue', 'fx',
  'provider_fees'));
`;
