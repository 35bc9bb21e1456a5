// Earnings ingestion: a batch of up to 10 000 events is validated, deduplicated by external id and
// inserted with set-based statements in one transaction. Each event lands in the period its occurred-at
// falls in (the configured calendar and timezone); a period that is no longer open either refuses the
// event or, when the caller asks for it, books it as a late adjustment in the next open period.
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';
import { type Money, parseMoney } from '../money/index.ts';
import {
  isValidPeriodId,
  nextPeriodId,
  PERIOD_YEARS,
  type PeriodCalendar,
  periodIdFor,
} from '../periods/calendar.ts';
import type { EarningsType } from '../plans/calculate.ts';

export const MAX_EVENTS_PER_BATCH = 10_000;

export interface EarningsEventInput {
  externalId: string;
  payeeId: string;
  type: EarningsType;
  amount: Money;
  occurredAt: string;
  category?: string | undefined;
  volume?: number | undefined;
}

export type LateEventPolicy = 'reject' | 'next_period';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** Events that landed in each period (late ones in the next open period). */
  periods: { periodId: string; events: number }[];
  late: number;
}

export type EarningsErrorKind = 'conflict' | 'unprocessable';

/** Nothing was written; `problems` names each event (by index and external id) and what to do. */
export class EarningsRejected extends Error {
  readonly code = 'earnings_rejected';
  readonly kind: EarningsErrorKind;
  readonly problems: { index: number; externalId: string; message: string }[];
  constructor(kind: EarningsErrorKind, message: string, problems: EarningsRejected['problems']) {
    super(message);
    this.name = 'EarningsRejected';
    this.kind = kind;
    this.problems = problems;
  }
}

interface Normalized {
  index: number;
  externalId: string;
  payeeId: string;
  type: EarningsType;
  amount: bigint;
  currency: string;
  category: string;
  volume: number;
  occurredAt: Date;
  hash: string;
}

const OPEN_STATUSES = new Set(['open', 'reopened']);

function normalize(e: EarningsEventInput, index: number): Normalized {
  const m = parseMoney(e.amount, {
    field: `events[${index}].amount`,
    allowZero: false,
    allowNegative: e.type === 'adjustment',
  });
  const occurredAt = new Date(e.occurredAt);
  const category = e.category ?? 'default';
  const volume = e.volume ?? 0;
  const hash = createHash('sha256')
    .update(
      JSON.stringify([e.payeeId, e.type, m.amount, m.currency, category, volume, occurredAt.toISOString()]),
    )
    .digest('base64url');
  return {
    index,
    externalId: e.externalId,
    payeeId: e.payeeId,
    type: e.type,
    amount: BigInt(m.amount),
    currency: m.currency,
    category,
    volume,
    occurredAt,
    hash,
  };
}

export async function ingestEarnings(
  em: EntityManager,
  schema: string,
  calendar: PeriodCalendar,
  inputs: readonly EarningsEventInput[],
  late: LateEventPolicy,
): Promise<IngestResult> {
  if (inputs.length > MAX_EVENTS_PER_BATCH) {
    throw new EarningsRejected(
      'unprocessable',
      `At most ${MAX_EVENTS_PER_BATCH} events per request; split the batch`,
      [],
    );
  }
  const t = {
    events: qualify(schema, 'earnings_events'),
    periods: qualify(schema, 'periods'),
    payees: qualify(schema, 'payees'),
  };
  const events = inputs.map(normalize);

  // An instant outside the years that have periods (0001-01-01) belongs to no period: refused, not a 500.
  const problems: EarningsRejected['problems'] = [];
  for (const e of events) {
    if (!isValidPeriodId(periodIdFor(e.occurredAt, calendar))) {
      problems.push({
        index: e.index,
        externalId: e.externalId,
        message: `occurredAt ${e.occurredAt.toISOString()} is outside any commission period (years ${PERIOD_YEARS.first}-${PERIOD_YEARS.last})`,
      });
    }
  }
  if (problems.length)
    throw new EarningsRejected('unprocessable', 'Events fall outside any commission period', problems);

  // The same external id twice in one batch must carry the same event.
  const byId = new Map<string, Normalized>();
  for (const e of events) {
    const seen = byId.get(e.externalId);
    if (seen && seen.hash !== e.hash)
      problems.push({
        index: e.index,
        externalId: e.externalId,
        message: `differs from events[${seen.index}] with the same externalId`,
      });
    if (!seen) byId.set(e.externalId, e);
  }
  if (problems.length)
    throw new EarningsRejected('conflict', 'Conflicting events share an externalId', problems);

  // Replays: same content → no-op; different content → conflict (nothing written).
  const existing = await sql<{ external_id: string; content_hash: string }>(
    em,
    `SELECT external_id, content_hash FROM ${t.events} WHERE external_id = ANY($1::text[])`,
    [[...byId.keys()]],
  );
  for (const row of existing) {
    const e = byId.get(row.external_id)!;
    if (row.content_hash !== e.hash) {
      problems.push({
        index: e.index,
        externalId: e.externalId,
        message:
          'an event with this externalId was already accepted with different content; use a new externalId for a correction',
      });
    }
    byId.delete(row.external_id);
  }
  if (problems.length)
    throw new EarningsRejected('conflict', 'Events replay an externalId with different content', problems);
  const fresh = [...byId.values()];
  if (fresh.length === 0) return { accepted: 0, duplicates: events.length, periods: [], late: 0 };

  const payeeIds = [...new Set(fresh.map((e) => e.payeeId))];
  const known = new Set(
    (await sql<{ id: string }>(em, `SELECT id FROM ${t.payees} WHERE id = ANY($1::text[])`, [payeeIds])).map(
      (r) => r.id,
    ),
  );
  for (const e of fresh) {
    if (!known.has(e.payeeId))
      problems.push({
        index: e.index,
        externalId: e.externalId,
        message: `payee ${e.payeeId} does not exist: register it first`,
      });
  }
  if (problems.length) throw new EarningsRejected('unprocessable', 'Events name unknown payees', problems);

  // Route each event to its period. Period rows are locked FOR SHARE, so a concurrent close (which
  // updates the row) either happens before (we see 'closed') or waits until this batch commits.
  const target = new Map<Normalized, { periodId: string; lateFrom: string | null }>();
  const statuses = new Map<string, string>();
  const lockPeriods = async (ids: string[]) => {
    const missing = ids.filter((id) => !statuses.has(id));
    if (missing.length === 0) return;
    await sql(
      em,
      `INSERT INTO ${t.periods} (id) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (id) DO NOTHING`,
      [missing],
    );
    const rows = await sql<{ id: string; status: string }>(
      em,
      `SELECT id, status FROM ${t.periods} WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`,
      [missing],
    );
    for (const r of rows) statuses.set(r.id, r.status);
  };
  const natural = fresh.map((e) => periodIdFor(e.occurredAt, calendar));
  await lockPeriods([...new Set(natural)]);
  for (const [i, e] of fresh.entries()) {
    const periodId = natural[i]!;
    if (OPEN_STATUSES.has(statuses.get(periodId)!)) {
      target.set(e, { periodId, lateFrom: null });
      continue;
    }
    if (late === 'reject') {
      problems.push({
        index: e.index,
        externalId: e.externalId,
        message: `period ${periodId} is ${statuses.get(periodId)}; resend with lateEvents "next_period" to book it as a late adjustment in the next open period`,
      });
      continue;
    }
    let next = periodId;
    for (let hops = 0; hops < 120; hops++) {
      next = nextPeriodId(next);
      await lockPeriods([next]);
      if (OPEN_STATUSES.has(statuses.get(next)!)) break;
    }
    target.set(e, { periodId: next, lateFrom: periodId });
  }
  if (problems.length)
    throw new EarningsRejected('conflict', 'Events fall in periods that are closed', problems);

  const inserted = await sql<{ external_id: string }>(
    em,
    `INSERT INTO ${t.events}
       (external_id, period_id, payee_id, type, amount, currency, category, volume, occurred_at, late_from_period, content_hash)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[],
                          $8::bigint[], $9::timestamptz[], $10::text[], $11::text[])
     ON CONFLICT (external_id) DO NOTHING
     RETURNING external_id`,
    [
      fresh.map((e) => e.externalId),
      fresh.map((e) => target.get(e)!.periodId),
      fresh.map((e) => e.payeeId),
      fresh.map((e) => e.type),
      fresh.map((e) => e.amount.toString()),
      fresh.map((e) => e.currency),
      fresh.map((e) => e.category),
      fresh.map((e) => e.volume),
      fresh.map((e) => e.occurredAt.toISOString()),
      fresh.map((e) => target.get(e)!.lateFrom),
      fresh.map((e) => e.hash),
    ],
  );
  if (inserted.length !== fresh.length) {
    // A concurrent request inserted some of these ids between our check and insert: retry the request.
    throw new EarningsRejected(
      'conflict',
      'Some of these events were being recorded concurrently; retry the request',
      [],
    );
  }
  const perPeriod = new Map<string, number>();
  for (const e of fresh) {
    const p = target.get(e)!.periodId;
    perPeriod.set(p, (perPeriod.get(p) ?? 0) + 1);
  }
  return {
    accepted: fresh.length,
    duplicates: events.length - fresh.length,
    periods: [...perPeriod].sort().map(([periodId, n]) => ({ periodId, events: n })),
    late: fresh.filter((e) => target.get(e)!.lateFrom !== null).length,
  };
}
