// Persistence of payout records (table `payouts`, migrations 0040 and 0086). Raw, parameterised SQL on the caller's
// EntityManager so writes join the caller's database transaction (state + outbox commit together).
import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';
import type { DestinationJson, PayeeJson } from '../payees/service.ts';
import type { PayoutMethod, PayoutState, PayoutStateDoc } from './state.ts';

export interface PayoutRecord {
  id: string;
  payeeId: string;
  amount: string;
  currency: string;
  scale: number;
  method: PayoutMethod;
  instantRequested: boolean;
  state: PayoutState;
  rail: 'instant' | 'scheduled' | null;
  provider: string | null;
  fee: string;
  withholding: string;
  requestedBy: string;
  requestedRole: string;
  periodId: string | null;
  bulkId: string | null;
  /** Fingerprint of the destination screened for this payout ('' = none then; null = screened before pinning). */
  destinationFingerprint: string | null;
  stateDoc: Partial<PayoutStateDoc>;
  createdAt: string;
  updatedAt: string;
}

/** A `payouts` row as the driver returns it (SELECT * or payoutColumns). */
export interface PayoutRow {
  id: string;
  payee_id: string;
  amount: string;
  currency: string;
  scale: number;
  method: PayoutMethod;
  instant_requested: boolean;
  state: PayoutState;
  rail: 'instant' | 'scheduled' | null;
  provider: string | null;
  fee: string;
  withholding: string;
  requested_by: string;
  requested_role: string;
  period_id: string | null;
  bulk_id: string | null;
  destination_fingerprint: string | null;
  state_doc: Partial<PayoutStateDoc>;
  created_at: Date | string;
  updated_at: Date | string;
}

// Every column of PayoutRow, in table order: the type refuses a missing or unknown one, and
// test/payouts/payout-columns.test.ts compares it with the migrated table, so a new column is not forgotten.
const payoutColumnSet: Record<keyof PayoutRow, true> = {
  id: true,
  payee_id: true,
  amount: true,
  currency: true,
  scale: true,
  method: true,
  instant_requested: true,
  state: true,
  rail: true,
  provider: true,
  fee: true,
  withholding: true,
  requested_by: true,
  requested_role: true,
  period_id: true,
  bulk_id: true,
  state_doc: true,
  created_at: true,
  updated_at: true,
  destination_fingerprint: true,
};
export const PAYOUT_COLUMNS = Object.keys(payoutColumnSet) as readonly (keyof PayoutRow)[];

/**
 * The payout row's columns as a result list (`alias.id, alias.payee_id, …`): what a prepared statement
 * selects instead of `alias.*` (src/db/prepared.ts), the same row either way.
 */
export function payoutColumns(alias?: string): string {
  return PAYOUT_COLUMNS.map((c) => (alias ? `${alias}.${c}` : c)).join(', ');
}

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();

/** The record of a `payouts` row. */
export function payoutFromRow(r: PayoutRow): PayoutRecord {
  return {
    id: r.id,
    payeeId: r.payee_id,
    amount: String(r.amount),
    currency: r.currency,
    scale: Number(r.scale),
    method: r.method,
    instantRequested: r.instant_requested,
    state: r.state,
    rail: r.rail,
    provider: r.provider,
    fee: String(r.fee),
    withholding: String(r.withholding),
    requestedBy: r.requested_by,
    requestedRole: r.requested_role,
    periodId: r.period_id,
    bulkId: r.bulk_id,
    destinationFingerprint: r.destination_fingerprint ?? null,
    stateDoc: r.state_doc ?? {},
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export interface NewPayout {
  id: string;
  payeeId: string;
  amount: string;
  currency: string;
  scale: number;
  method: PayoutMethod;
  instantRequested: boolean;
  requestedBy: string;
  requestedRole: string;
  periodId?: string;
  bulkId?: string;
}

export class PayoutStore {
  readonly #table: string;
  readonly #payees: string;
  readonly #destinations: string;

  constructor(schema: string) {
    this.#table = qualify(schema, 'payouts');
    this.#payees = qualify(schema, 'payees');
    this.#destinations = qualify(schema, 'payee_destinations');
  }

  /** Inserts the record; returns false when a payout with this id already exists (idempotent create). */
  async insert(em: EntityManager, p: NewPayout): Promise<boolean> {
    return (await this.insertReturning(em, p)) !== null;
  }

  /** Inserts the record and returns it; null when a payout with this id already exists. */
  async insertReturning(em: EntityManager, p: NewPayout): Promise<PayoutRecord | null> {
    const rows = await sql<PayoutRow>(
      em,
      `INSERT INTO ${this.#table} (id, payee_id, amount, currency, scale, method, instant_requested, state,
         requested_by, requested_role, period_id, bulk_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested', $8, $9, $10, $11)
       ON CONFLICT (id) DO NOTHING RETURNING ${payoutColumns()}`,
      [
        p.id,
        p.payeeId,
        p.amount,
        p.currency,
        p.scale,
        p.method,
        p.instantRequested,
        p.requestedBy,
        p.requestedRole,
        p.periodId ?? null,
        p.bulkId ?? null,
      ],
      { prepare: true },
    );
    return rows[0] ? payoutFromRow(rows[0]) : null;
  }

  async get(em: EntityManager, id: string): Promise<PayoutRecord | null> {
    const rows = await sql<PayoutRow>(em, `SELECT * FROM ${this.#table} WHERE id = $1`, [id]);
    return rows[0] ? payoutFromRow(rows[0]) : null;
  }

  /**
   * The record with its payee's row (null when gone) and all the payee's destinations, each with the number
   * of other payees sharing its fingerprint: what screening reads (compliance, risk, route), in one statement
   * and so from one snapshot.
   */
  async getForScreening(
    em: EntityManager,
    id: string,
    now: Date,
  ): Promise<{
    payout: PayoutRecord;
    payee: PayeeJson | null;
    destinations: DestinationJson[];
    recent: RecentActivity;
  } | null> {
    const rows = await sql<
      PayoutRow & RecentColumns & { payee_json: PayeeJson | null; destinations_json: DestinationJson[] }
    >(
      em,
      `SELECT ${payoutColumns('p')}, r.n AS recent_n, r.total AS recent_total, r.paid_n AS recent_paid_n,
              r.paid_total AS recent_paid_total,
              (SELECT to_jsonb(y) - 'tax_tin_ciphertext' FROM ${this.#payees} y WHERE y.id = p.payee_id) AS payee_json,
              (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'kind', d.kind, 'ciphertext', d.ciphertext, 'fingerprint', d.fingerprint,
                        'display', d.display, 'added_at', d.added_at, 'changed_at', d.changed_at,
                        'shared', (SELECT count(*) FROM ${this.#destinations} o
                                    WHERE o.fingerprint = d.fingerprint AND o.payee_id <> d.payee_id))),
                      '[]'::jsonb)
                 FROM ${this.#destinations} d WHERE d.payee_id = p.payee_id) AS destinations_json
         FROM ${this.#table} p
         CROSS JOIN LATERAL (${this.#recentSql('p.payee_id', 'p.currency', 'p.id', '$2')}) r
        WHERE p.id = $1`,
      [id, now.toISOString()],
      { prepare: true },
    );
    const row = rows[0];
    if (!row) return null;
    return {
      payout: payoutFromRow(row),
      payee: row.payee_json ?? null,
      destinations: row.destinations_json ?? [],
      recent: recentOf({
        n: row.recent_n,
        total: row.recent_total,
        paid_n: row.recent_paid_n,
        paid_total: row.recent_paid_total,
      }),
    };
  }

  /**
   * The record, its payee's name and country (holder; null when gone) and the payee's destination of the
   * payout's method (`kinds`: method → destination kind; null when there is none), in one statement: what a
   * provider submission reads.
   */
  async getForSubmission(
    em: EntityManager,
    id: string,
    kinds: Record<PayoutMethod, string>,
  ): Promise<{
    payout: PayoutRecord;
    holder: { name: string; country: string } | null;
    destination: { ciphertext: string; fingerprint: string } | null;
  } | null> {
    const rows = await sql<
      PayoutRow & {
        holder_name: string | null;
        holder_country: string | null;
        current_ciphertext: string | null;
        current_fingerprint: string | null;
      }
    >(
      em,
      `SELECT ${payoutColumns('p')}, y.name AS holder_name, y.country AS holder_country,
              d.ciphertext AS current_ciphertext, d.fingerprint AS current_fingerprint
         FROM ${this.#table} p
         LEFT JOIN ${this.#payees} y ON y.id = p.payee_id
         LEFT JOIN ${this.#destinations} d ON d.payee_id = p.payee_id AND d.kind = ($2::jsonb ->> p.method)
        WHERE p.id = $1`,
      [id, JSON.stringify(kinds)],
      { prepare: true },
    );
    const row = rows[0];
    if (!row) return null;
    const holder =
      row.holder_name === null || row.holder_country === null
        ? null
        : { name: row.holder_name, country: row.holder_country };
    const destination =
      row.current_ciphertext === null || row.current_fingerprint === null
        ? null
        : { ciphertext: row.current_ciphertext, fingerprint: row.current_fingerprint };
    return { payout: payoutFromRow(row), holder, destination };
  }

  /**
   * Stores the workflow's last committed state. A closed payout keeps its final state: only `paid` may still
   * become `returned` (or be written again as `paid`); a late or repeated write of anything else is ignored.
   */
  /**
   * `changed`: the stored state moved to a different one (a repeated write of the same state is not).
   * With `breakdown`, the row's breakdown is written in the same statement, as saveBreakdown after it would
   * (whatever the state does; its rail over the state's). With `event`, a statement run with it as a
   * data-modifying CTE (its parameters numbered from `first`, RETURNING one row `deliver` when it inserts):
   * the outbox event the state describes (WebhookOutbox.enqueueStatement); `enqueued` is then what enqueue
   * would answer.
   */
  async saveState(
    em: EntityManager,
    doc: PayoutStateDoc,
    also: {
      breakdown?: BreakdownFields | undefined;
      event?: (first: number) => { text: string; params: readonly unknown[] };
    } = {},
  ): Promise<{ changed: boolean; enqueued?: { inserted: boolean; deliver: boolean } }> {
    const params: unknown[] = [
      doc.payoutId,
      doc.state,
      doc.rail ?? null,
      doc.provider ?? null,
      JSON.stringify(doc),
    ];
    let old: string;
    let update: string;
    const b = also.breakdown;
    if (!b) {
      old = `old AS (SELECT state FROM ${this.#table} WHERE id = $1 FOR UPDATE)`;
      update = `UPDATE ${this.#table} AS p
          SET state = $2, rail = COALESCE($3, p.rail), provider = COALESCE($4, p.provider),
              state_doc = $5::jsonb, updated_at = now()
         FROM old
        WHERE p.id = $1 AND p.state NOT IN ('returned', 'failed', 'rejected', 'cancelled')
          AND (p.state <> 'paid' OR $2 IN ('paid', 'returned'))
       RETURNING old.state AS previous, true AS saved`;
    } else {
      params.push(b.fee ?? null, b.withholding ?? null, b.rail ?? null, b.destinationFingerprint ?? null);
      // The state's guard (as above) decides the state's columns only: the breakdown is written regardless.
      old = `old AS (SELECT state, state NOT IN ('returned', 'failed', 'rejected', 'cancelled')
                       AND (state <> 'paid' OR $2 IN ('paid', 'returned')) AS ok
                  FROM ${this.#table} WHERE id = $1 FOR UPDATE)`;
      update = `UPDATE ${this.#table} AS p
          SET state = CASE WHEN old.ok THEN $2 ELSE p.state END,
              rail = COALESCE($8, CASE WHEN old.ok THEN $3 END, p.rail),
              provider = CASE WHEN old.ok THEN COALESCE($4, p.provider) ELSE p.provider END,
              state_doc = CASE WHEN old.ok THEN $5::jsonb ELSE p.state_doc END,
              fee = COALESCE($6, p.fee), withholding = COALESCE($7, p.withholding),
              destination_fingerprint = COALESCE($9, p.destination_fingerprint), updated_at = now()
         FROM old
        WHERE p.id = $1
       RETURNING old.state AS previous, old.ok AS saved`;
    }
    if (!also.event) {
      const rows = await sql<{ previous: string; saved: boolean }>(em, `WITH ${old} ${update}`, params, {
        prepare: true,
      });
      const row = rows[0];
      return { changed: row?.saved === true && row.previous !== doc.state };
    }
    const event = also.event(params.length + 1);
    // One statement: the state and its event (both CTEs run whatever the other does).
    const rows = await sql<{
      saved: boolean | null;
      previous: string | null;
      inserted: boolean;
      deliver: boolean | null;
    }>(
      em,
      `WITH ${old}, saved AS (${update}), ev AS (${event.text})
       SELECT (SELECT saved FROM saved) AS saved, (SELECT previous FROM saved) AS previous,
              EXISTS (SELECT 1 FROM ev) AS inserted, (SELECT deliver FROM ev) AS deliver`,
      [...params, ...event.params],
      { prepare: true },
    );
    const row = rows[0]!;
    return {
      changed: row.saved === true && row.previous !== doc.state,
      // Already there (a repeat): its delivery step decides, as before.
      enqueued: { inserted: row.inserted, deliver: row.inserted ? row.deliver === true : true },
    };
  }

  async saveBreakdown(em: EntityManager, id: string, fields: BreakdownFields): Promise<void> {
    await sql(
      em,
      `UPDATE ${this.#table}
          SET fee = COALESCE($2, fee), withholding = COALESCE($3, withholding), rail = COALESCE($4, rail),
              destination_fingerprint = COALESCE($5, destination_fingerprint), updated_at = now()
        WHERE id = $1`,
      [
        id,
        fields.fee ?? null,
        fields.withholding ?? null,
        fields.rail ?? null,
        fields.destinationFingerprint ?? null,
      ],
    );
  }

  /** The payee's other payouts in the 24 h before `now` that still count (not rejected/cancelled/failed). */
  async recentActivity(em: EntityManager, p: RecentQuery): Promise<RecentActivity> {
    const [row] = await sql<RecentRow>(em, this.#recentSql('$1', '$2', '$3', '$4'), [
      p.payeeId,
      p.currency,
      p.excludeId,
      p.now.toISOString(),
    ]);
    return recentOf(row);
  }

  /**
   * One statement: the last 24 h that still count, and the trailing average of the last 20 paid payouts
   * (integer division, no floats); each argument an SQL expression (a parameter or a column).
   */
  #recentSql(payeeId: string, currency: string, excludeId: string, now: string): string {
    return `SELECT recent.n, recent.total, last_paid.n AS paid_n, last_paid.total AS paid_total
         FROM (SELECT count(*) AS n, sum(amount) AS total FROM ${this.#table}
                WHERE payee_id = ${payeeId} AND currency = ${currency} AND id <> ${excludeId}
                  AND created_at > ${now}::timestamptz - interval '24 hours' AND created_at <= ${now}::timestamptz
                  AND state NOT IN ('rejected', 'cancelled', 'failed')) recent,
              (SELECT count(*) AS n, sum(amount) AS total FROM (
                 SELECT amount FROM ${this.#table}
                  WHERE payee_id = ${payeeId} AND currency = ${currency} AND id <> ${excludeId}
                    AND state IN ('paid', 'returned')
                  ORDER BY created_at DESC LIMIT 20) paid) last_paid`;
  }
}

/** The payout's breakdown as screening and routing write it (each field: unchanged when absent). */
export interface BreakdownFields {
  fee?: string;
  withholding?: string;
  rail?: 'instant' | 'scheduled';
  destinationFingerprint?: string;
}

export interface RecentQuery {
  payeeId: string;
  currency: string;
  excludeId: string;
  now: Date;
}

/** The payee's other payouts in the 24 h before a time, and its trailing average paid (risk facts). */
export interface RecentActivity {
  count: number;
  totalMinor: bigint;
  trailingAverageMinor?: bigint;
}

interface RecentRow {
  n: string | number;
  total: string | null;
  paid_n: string | number;
  paid_total: string | null;
}

interface RecentColumns {
  recent_n: string | number;
  recent_total: string | null;
  recent_paid_n: string | number;
  recent_paid_total: string | null;
}

function recentOf(row: RecentRow | undefined): RecentActivity {
  const recent = row && { n: row.n, total: row.total };
  const avg = row && { n: row.paid_n, total: row.paid_total };
  const paidCount = BigInt(avg?.n ?? '0');
  return {
    count: Number(recent?.n ?? 0),
    totalMinor: BigInt(recent?.total ?? '0'),
    ...(paidCount > 0n ? { trailingAverageMinor: BigInt(avg?.total ?? '0') / paidCount } : {}),
  };
}
