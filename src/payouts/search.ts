// Operator search over payout records: every filter an index serves (migration 0084), newest first,
// keyset-paginated on (created_at, id) so a page never skips or repeats a payout while new ones arrive.
import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';
import type { PayoutState } from './state.ts';
import { type PayoutRecord, type PayoutRow, payoutFromRow } from './store.ts';

export interface PayoutSearch {
  /** Any of these states (empty or absent: every state). */
  states?: readonly PayoutState[];
  payeeId?: string;
  periodId?: string;
  bulkId?: string;
  /** Provider of the latest attempt. */
  provider?: string;
  currency?: string;
  /** Inclusive bounds on the gross amount in minor units; need `currency` (amounts of two currencies do not compare). */
  amountMin?: bigint;
  amountMax?: bigint;
  /** Created at or after. */
  createdFrom?: Date;
  /** Created before. */
  createdTo?: Date;
  /** Opaque cursor from a previous page of the same search. */
  cursor?: string;
  limit: number;
}

export interface PayoutPage {
  items: PayoutRecord[];
  nextCursor: string | null;
}

/** A search that cannot mean anything (checked before any query; the API validates the same first). */
export class InvalidPayoutSearch extends Error {
  readonly code = 'invalid_search';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPayoutSearch';
  }
}

export async function searchPayouts(em: EntityManager, schema: string, s: PayoutSearch): Promise<PayoutPage> {
  if ((s.amountMin !== undefined || s.amountMax !== undefined) && !s.currency) {
    throw new InvalidPayoutSearch('an amount range needs a currency');
  }
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (clause: string, ...values: unknown[]) => {
    let text = clause;
    for (const v of values) {
      params.push(v);
      text = text.replace('?', `$${params.length}`);
    }
    where.push(text);
  };
  if (s.states?.length) add('state = ANY(?::text[])', [...s.states]);
  if (s.payeeId) add('payee_id = ?', s.payeeId);
  if (s.periodId) add('period_id = ?', s.periodId);
  if (s.bulkId) add('bulk_id = ?', s.bulkId);
  if (s.provider) add('provider = ?', s.provider);
  if (s.currency) add('currency = ?', s.currency);
  if (s.amountMin !== undefined) add('amount >= ?::bigint', s.amountMin.toString());
  if (s.amountMax !== undefined) add('amount <= ?::bigint', s.amountMax.toString());
  if (s.createdFrom) add('created_at >= ?::timestamptz', s.createdFrom.toISOString());
  if (s.createdTo) add('created_at < ?::timestamptz', s.createdTo.toISOString());
  if (s.cursor) add('(created_at, id) < (?::timestamptz, ?)', ...decodeCursor(s.cursor));
  params.push(s.limit + 1);
  // The cursor keeps created_at to the microsecond: cut to JavaScript's milliseconds, a page would skip the
  // payouts created later in the same millisecond as its last one.
  const rows = await sql<PayoutRow & { cursor_at: string }>(
    em,
    `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
       FROM ${qualify(schema, 'payouts')} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const last = rows.length > s.limit ? rows[s.limit - 1] : undefined;
  return {
    items: rows.slice(0, s.limit).map(payoutFromRow),
    nextCursor: last ? encodeCursor(last.cursor_at, last.id) : null,
  };
}

/** Every payout the search matches, page by page (CSV export). */
export async function searchAllPayouts(
  em: EntityManager,
  schema: string,
  s: Omit<PayoutSearch, 'cursor' | 'limit'>,
  pageSize = 500,
): Promise<PayoutRecord[]> {
  const out: PayoutRecord[] = [];
  let cursor: string | null = null;
  do {
    const page: PayoutPage = await searchPayouts(em, schema, {
      ...s,
      ...(cursor ? { cursor } : {}),
      limit: pageSize,
    });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

export class InvalidPayoutCursor extends Error {
  readonly code = 'invalid_cursor';
  constructor() {
    super('cursor is not one this API returned; start again without a cursor');
    this.name = 'InvalidPayoutCursor';
  }
}

// The cursor is the one the payout list always returned (base64url JSON [createdAt, id]).
function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parsed) && parsed.length === 2 && parsed.every((v) => typeof v === 'string')) {
      if (!Number.isNaN(Date.parse(parsed[0] as string))) return parsed as [string, string];
    }
  } catch {
    // fall through
  }
  throw new InvalidPayoutCursor();
}
