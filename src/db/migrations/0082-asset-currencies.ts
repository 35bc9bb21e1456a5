/**
 * Money in configured non-ISO assets (USDC, EURC: see src/money/currency.ts): currency codes of 3-10 capitals
 * or digits instead of ISO 4217's three letters, and payouts at an asset's scale (USDC has 6 decimals).
 * Amounts stay bigint minor units: 2^63 micro-USDC is over nine trillion USDC.
 */
export const name = '0082-asset-currencies';

const CODE = `'^[A-Z][A-Z0-9]{2,9}$'`;
const tables = ['ledger_accounts', 'payouts', 'earnings_events', 'credit_grants', 'spendback_orders'];

export const up = `
${tables
  .map(
    (t) => `ALTER TABLE ${t} DROP CONSTRAINT IF EXISTS ${t}_currency_check;
ALTER TABLE ${t} ADD CONSTRAINT ${t}_currency_check CHECK (currency ~ ${CODE});`,
  )
  .join('\n')}
ALTER TABLE payouts DROP CONSTRAINT IF EXISTS payouts_scale_check;
ALTER TABLE payouts ADD CONSTRAINT payouts_scale_check CHECK (scale BETWEEN 0 AND 18);
`;
