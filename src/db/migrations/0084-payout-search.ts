/**
 * Operator search over payouts (GET /v1/payouts): an index for each filter the existing ones do not serve,
 * each ending in the list's order (created_at DESC, id DESC) so a filtered page is an index range scan.
 */
export const name = '0084-payout-search';

export const up = `
CREATE INDEX payouts_provider_idx ON payouts (provider, created_at DESC, id DESC) WHERE provider IS NOT NULL;
CREATE INDEX payouts_period_idx ON payouts (period_id, created_at DESC, id DESC) WHERE period_id IS NOT NULL;
CREATE INDEX payouts_bulk_idx ON payouts (bulk_id, created_at DESC, id DESC) WHERE bulk_id IS NOT NULL;
CREATE INDEX payouts_currency_amount_idx ON payouts (currency, amount);
`;
