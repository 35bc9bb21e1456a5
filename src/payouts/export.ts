// Payouts as RFC 4180 CSV for offline reconciliation: decimal amounts at the currency's scale, one row each.
import { formatDecimal } from '../money/index.ts';
import { toCsv } from '../shared/csv.ts';
import type { PayoutRecord } from './store.ts';

const HEADER = [
  'payout_id',
  'payee_id',
  'amount',
  'currency',
  'fee',
  'withholding',
  'method',
  'state',
  'rail',
  'provider',
  'period_id',
  'bulk_id',
  'requested_by',
  'created_at',
  'updated_at',
];

export function payoutsCsv(rows: readonly PayoutRecord[]): string {
  const dec = (p: PayoutRecord, minor: string) =>
    formatDecimal({ amount: minor, currency: p.currency, scale: p.scale });
  return toCsv([
    HEADER,
    ...rows.map((p) => [
      p.id,
      p.payeeId,
      dec(p, p.amount),
      p.currency,
      dec(p, p.fee),
      dec(p, p.withholding),
      p.method,
      p.state,
      p.rail ?? '',
      p.provider ?? '',
      p.periodId ?? '',
      p.bulkId ?? '',
      p.requestedBy,
      p.createdAt,
      p.updatedAt,
    ]),
  ]);
}
