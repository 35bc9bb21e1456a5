// The period tables (periods, earnings_events, period_tree, period_statements, period_batches,
// period_payouts) and the payee facts a close reads: every statement of the period service, each taking
// the caller's EntityManager so the service decides what commits together.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { BatchSummary } from '../../workflows/period-contract.ts';
import { qualifyTables } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';

export type BatchStage = 'calculate' | 'post';

/** A batch's marker: which period, stage, run and batch, and the summary recorded for it. */
type BatchMarker = [periodId: string, stage: BatchStage, run: number, batch: number, summary: object];

/** Sums of one payee's events in the period by type, currency and category. */
export interface ActivityRow {
  payee_id: string;
  type: string;
  currency: string;
  category: string;
  amount: string;
  volume: string;
}

/** One statement of a run: the payee's total in the currency, and its lines. */
export interface StatementRow {
  payeeId: string;
  currency: string;
  total: bigint;
  lines: Record<string, unknown>;
}

export interface RunTotals {
  /** Currency → total in minor units. */
  totals: Record<string, string>;
  payees: number;
  statements: number;
}

export type PeriodStore = ReturnType<typeof createPeriodStore>;

export function createPeriodStore(schema: string) {
  const t = qualifyTables(schema, {
    periods: 'periods',
    events: 'earnings_events',
    statements: 'period_statements',
    batches: 'period_batches',
    tree: 'period_tree',
    payouts: 'period_payouts',
    payees: 'payees',
  });

  const insertMarker = (
    em: EntityManager,
    [periodId, stage, run, batch, summary]: BatchMarker,
    onConflict: string,
  ) =>
    sql(
      em,
      `INSERT INTO ${t.batches} (period_id, stage, run, batch, summary) VALUES ($1, $2, $3, $4, $5::jsonb)
       ${onConflict}`,
      [periodId, stage, run, batch, JSON.stringify(summary)],
    );

  return {
    // ---- periods

    async period(em: EntityManager, periodId: string) {
      const [row] = await sql<{
        id: string;
        status: string;
        plan_version: string | null;
        run: number;
        summary: unknown;
      }>(em, `SELECT id, status, plan_version, run, summary FROM ${t.periods} WHERE id = $1`, [periodId]);
      return row;
    },

    /** Ids of the periods closed and not yet posted, in id order (at most `limit`). */
    async closedPeriodIds(em: EntityManager, limit: number): Promise<string[]> {
      const rows = await sql<{ id: string }>(
        em,
        `SELECT id FROM ${t.periods} WHERE status = 'closed' ORDER BY id LIMIT $1`,
        [limit],
      );
      return rows.map((r) => r.id);
    },

    /** Creates the period if needed and closes it unless already closed; the plan version it keeps. */
    async close(
      em: EntityManager,
      periodId: string,
      planVersion: string,
    ): Promise<string | null | undefined> {
      await sql(em, `INSERT INTO ${t.periods} (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [periodId]);
      const [row] = await sql<{ plan_version: string | null }>(
        em,
        `UPDATE ${t.periods}
            SET status = CASE WHEN status IN ('open', 'reopened') THEN 'closed' ELSE status END,
                plan_version = CASE WHEN status IN ('open', 'reopened') THEN $2 ELSE plan_version END,
                closed_at = CASE WHEN status IN ('open', 'reopened') THEN now() ELSE closed_at END,
                updated_at = now()
          WHERE id = $1 RETURNING plan_version`,
        [periodId, planVersion],
      );
      return row?.plan_version;
    },

    /** Moves the period from one status to another; nothing when it is not in `from`. */
    async setStatus(em: EntityManager, periodId: string, from: string, to: string): Promise<void> {
      await sql(em, `UPDATE ${t.periods} SET status = $3, updated_at = now() WHERE id = $1 AND status = $2`, [
        periodId,
        from,
        to,
      ]);
    },

    async setRun(em: EntityManager, periodId: string, run: number, planVersion: string): Promise<void> {
      await sql(em, `UPDATE ${t.periods} SET run = $2, plan_version = $3, updated_at = now() WHERE id = $1`, [
        periodId,
        run,
        planVersion,
      ]);
    },

    async complete(em: EntityManager, periodId: string, summary: object): Promise<void> {
      await sql(
        em,
        `UPDATE ${t.periods} SET status = 'completed', summary = $2::jsonb, updated_at = now() WHERE id = $1`,
        [periodId, JSON.stringify(summary)],
      );
    },

    // ---- inputs: events and the sponsor tree

    /** Event sums of the next `limit` payees (by id) after `after`. */
    async activityPage(em: EntityManager, periodId: string, after: string, limit: number) {
      return sql<ActivityRow>(
        em,
        `WITH p AS (SELECT DISTINCT payee_id FROM ${t.events} WHERE period_id = $1 AND payee_id > $2
                    ORDER BY payee_id LIMIT $3)
         SELECT e.payee_id, e.type, e.currency, e.category, sum(e.amount)::text AS amount, sum(e.volume)::text AS volume
           FROM ${t.events} e JOIN p ON p.payee_id = e.payee_id
          WHERE e.period_id = $1 GROUP BY 1, 2, 3, 4 ORDER BY 1`,
        [periodId, after, limit],
      );
    },

    /** One payee's events in the period, counted and summed by type and currency. */
    async payeeEvents(em: EntityManager, periodId: string, payeeId: string) {
      return sql<{ type: string; currency: string; n: string; amount: string; volume: string }>(
        em,
        `SELECT type, currency, count(*)::text AS n, sum(amount)::text AS amount, sum(volume)::text AS volume
           FROM ${t.events} WHERE period_id = $1 AND payee_id = $2 GROUP BY 1, 2 ORDER BY 1, 2`,
        [periodId, payeeId],
      );
    },

    /** Freezes today's sponsor tree for the run. */
    async freezeTree(em: EntityManager, periodId: string, run: number): Promise<void> {
      await sql(
        em,
        `INSERT INTO ${t.tree} (period_id, run, payee_id, sponsor_id) SELECT $1, $2, id, sponsor_id FROM ${t.payees}`,
        [periodId, run],
      );
    },

    async treePage(em: EntityManager, periodId: string, run: number, after: string, limit: number) {
      return sql<{ payee_id: string; sponsor_id: string | null }>(
        em,
        `SELECT payee_id, sponsor_id FROM ${t.tree} WHERE period_id = $1 AND run = $2 AND payee_id > $3
          ORDER BY payee_id LIMIT $4`,
        [periodId, run, after, limit],
      );
    },

    /** Today's sponsor tree (not frozen): for provisional statements. */
    async liveTree(em: EntityManager) {
      return sql<{ id: string; sponsor_id: string | null }>(em, `SELECT id, sponsor_id FROM ${t.payees}`);
    },

    // ---- batch markers

    /** The recorded summary of a committed batch, or undefined. */
    async batch(
      em: EntityManager,
      periodId: string,
      stage: BatchStage,
      run: number,
      batch: number,
    ): Promise<BatchSummary | undefined> {
      const [row] = await sql<{ summary: BatchSummary }>(
        em,
        `SELECT summary FROM ${t.batches} WHERE period_id = $1 AND stage = $2 AND run = $3 AND batch = $4`,
        [periodId, stage, run, batch],
      );
      return row?.summary;
    },

    /** Records a batch marker; false when one is recorded already (by a concurrent attempt). */
    async claimBatch(em: EntityManager, ...marker: BatchMarker): Promise<boolean> {
      return (await insertMarker(em, marker, 'ON CONFLICT DO NOTHING RETURNING batch')).length > 0;
    },

    /**
     * Records a batch marker; a marker recorded already (by a concurrent attempt) fails the statement, so
     * the caller's transaction rolls back and a retry finds that attempt's summary.
     */
    async insertBatch(em: EntityManager, ...marker: BatchMarker): Promise<void> {
      await insertMarker(em, marker, '');
    },

    /** Plan version of a run: recorded in its 'calculate' batch -1 marker. */
    async runPlan(em: EntityManager, periodId: string, run: number): Promise<string | undefined> {
      const [row] = await sql<{ summary: { planVersion?: string } }>(
        em,
        `SELECT summary FROM ${t.batches} WHERE period_id = $1 AND stage = 'calculate' AND run = $2 AND batch = -1`,
        [periodId, run],
      );
      return row?.summary.planVersion;
    },

    async postedSummaries(em: EntityManager, periodId: string, run: number): Promise<BatchSummary[]> {
      const rows = await sql<{ summary: BatchSummary }>(
        em,
        `SELECT summary FROM ${t.batches} WHERE period_id = $1 AND stage = 'post' AND run = $2`,
        [periodId, run],
      );
      return rows.map((r) => r.summary);
    },

    // ---- statements

    async insertStatements(
      em: EntityManager,
      periodId: string,
      run: number,
      batch: number,
      statements: readonly StatementRow[],
    ): Promise<void> {
      await sql(
        em,
        `INSERT INTO ${t.statements} (period_id, run, payee_id, currency, batch, total, lines)
         SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::int[], $6::bigint[], $7::jsonb[])`,
        [
          periodId,
          run,
          statements.map((s) => s.payeeId),
          statements.map((s) => s.currency),
          statements.map(() => batch),
          statements.map((s) => s.total.toString()),
          statements.map((s) => JSON.stringify(s.lines)),
        ],
      );
    },

    async statements(em: EntityManager, periodId: string, run: number, after: string | null, limit: number) {
      return sql<{ payee_id: string; currency: string; total: string; lines: Record<string, unknown> }>(
        em,
        `SELECT payee_id, currency, total::text AS total, lines FROM ${t.statements}
          WHERE period_id = $1 AND run = $2 AND ($3::text IS NULL OR payee_id > $3)
          ORDER BY payee_id, currency LIMIT $4`,
        [periodId, run, after, limit],
      );
    },

    /** Non-zero statements of one batch with the payee's payout preferences, by payee and currency. */
    async batchStatements(em: EntityManager, periodId: string, run: number, batch: number) {
      return sql<{
        payee_id: string;
        currency: string;
        total: string;
        auto_payout: boolean;
        preferred_method: string | null;
      }>(
        em,
        `SELECT s.payee_id, s.currency, s.total::text AS total, p.auto_payout, p.preferred_method
           FROM ${t.statements} s JOIN ${t.payees} p ON p.id = s.payee_id
          WHERE s.period_id = $1 AND s.run = $2 AND s.batch = $3 AND s.total <> 0
          ORDER BY s.payee_id, s.currency`,
        [periodId, run, batch],
      );
    },

    async runTotals(em: EntityManager, periodId: string, run: number): Promise<RunTotals> {
      const rows = await sql<{ currency: string; total: string; n: string }>(
        em,
        `SELECT currency, sum(total)::text AS total, count(*)::text AS n
           FROM ${t.statements} WHERE period_id = $1 AND run = $2 GROUP BY currency ORDER BY currency`,
        [periodId, run],
      );
      const [payees] = await sql<{ n: string }>(
        em,
        `SELECT count(DISTINCT payee_id)::text AS n FROM ${t.statements} WHERE period_id = $1 AND run = $2`,
        [periodId, run],
      );
      return {
        totals: Object.fromEntries(rows.map((r) => [r.currency, r.total])),
        payees: Number(payees?.n ?? 0),
        statements: rows.reduce((n, r) => n + Number(r.n), 0),
      };
    },

    /** Statements changed, added and removed from run `from` to run `to`. */
    async runDiff(em: EntityManager, periodId: string, from: number, to: number) {
      const [d] = await sql<{ changed: string; added: string; removed: string }>(
        em,
        `SELECT count(*) FILTER (WHERE a.total IS NOT NULL AND b.total IS NOT NULL AND a.total <> b.total)::text AS changed,
                count(*) FILTER (WHERE a.total IS NULL)::text AS added,
                count(*) FILTER (WHERE b.total IS NULL)::text AS removed
           FROM (SELECT payee_id, currency, total FROM ${t.statements} WHERE period_id = $1 AND run = $2) a
           FULL JOIN (SELECT payee_id, currency, total FROM ${t.statements} WHERE period_id = $1 AND run = $3) b
             ON a.payee_id = b.payee_id AND a.currency = b.currency`,
        [periodId, from, to],
      );
      return {
        changed: Number(d?.changed ?? 0),
        added: Number(d?.added ?? 0),
        removed: Number(d?.removed ?? 0),
      };
    },

    // ---- payouts

    /** Queues the period's auto-payouts (a payout id is queued once). */
    async queuePayouts(
      em: EntityManager,
      periodId: string,
      payouts: readonly {
        payeeId: string;
        payoutId: string;
        seq: number;
        amount: bigint;
        currency: string;
      }[],
    ): Promise<void> {
      if (payouts.length === 0) return;
      await sql(
        em,
        `INSERT INTO ${t.payouts} (period_id, payee_id, payout_id, seq, amount, currency)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[])
         ON CONFLICT DO NOTHING`,
        [
          periodId,
          payouts.map((p) => p.payeeId),
          payouts.map((p) => p.payoutId),
          payouts.map((p) => p.seq),
          payouts.map((p) => p.amount.toString()),
          payouts.map((p) => p.currency),
        ],
      );
    },

    /** Payout preferences of these payees, by id. */
    async payoutPreferences(em: EntityManager, payeeIds: readonly string[]) {
      const rows = await sql<{ id: string; preferred_method: string | null; instant_opt_in: boolean }>(
        em,
        `SELECT id, preferred_method, instant_opt_in FROM ${t.payees} WHERE id = ANY($1::text[])`,
        [payeeIds],
      );
      return new Map(rows.map((r) => [r.id, r]));
    },
  };
}
