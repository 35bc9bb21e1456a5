// The bulk tables (payout_bulks, bulk_payouts, bulk_skipped): every statement of a bulk request, taking the
// caller's EntityManager so the service decides what commits together.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { BulkCancellation, BulkSummary } from '../../workflows/bulk-contract.ts';
import type { Actor } from '../auth/actor.ts';
import { qualifyTables } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';
import type { BulkCriteria, BulkRecord, BulkSkip } from './bulk.ts';

/** A payout the snapshot makes: who, under which payout id, how much (minor units). */
export interface BulkQueued {
  payeeId: string;
  payoutId: string;
  amount: bigint;
}

export type BulkStore = ReturnType<typeof createBulkStore>;

export function createBulkStore(schema: string) {
  const t = qualifyTables(schema, {
    bulks: 'payout_bulks',
    queue: 'bulk_payouts',
    skipped: 'bulk_skipped',
    payees: 'payees',
    destinations: 'payee_destinations',
    payouts: 'payouts',
  });

  return {
    /** Inserts the bulk's header; false when the bulk id exists already. */
    async insert(
      em: EntityManager,
      b: { bulkId: string; criteria: BulkCriteria; requestedBy: Actor },
    ): Promise<boolean> {
      const c = b.criteria;
      const inserted = await sql(
        em,
        `INSERT INTO ${t.bulks} (id, criteria, currency, method, instant, requested_by, requested_role)
              VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO NOTHING RETURNING 1`,
        [
          b.bulkId,
          JSON.stringify(c),
          c.currency,
          c.method,
          c.instant ?? false,
          b.requestedBy.actor,
          b.requestedBy.role,
        ],
      );
      return inserted.length > 0;
    },

    async header(em: EntityManager, bulkId: string): Promise<BulkRecord | undefined> {
      const [r] = await sql<{
        criteria: BulkCriteria;
        status: BulkRecord['status'];
        requested_by: string;
        requested_role: Actor['role'];
        created_at: Date | string;
        updated_at: Date | string;
        cancellation: BulkCancellation | null;
        summary: BulkSummary | null;
      }>(
        em,
        `SELECT criteria, status, requested_by, requested_role, created_at, updated_at, cancellation, summary
           FROM ${t.bulks} WHERE id = $1`,
        [bulkId],
      );
      return r
        ? {
            bulkId,
            status: r.status,
            criteria: r.criteria,
            requestedBy: { actor: r.requested_by, role: r.requested_role },
            createdAt: new Date(r.created_at).toISOString(),
            updatedAt: new Date(r.updated_at).toISOString(),
            cancellation: r.cancellation,
            summary: r.summary,
          }
        : undefined;
    },

    /**
     * Of these payee ids, the payees that exist (and are of the country, when given), each with whether it
     * has a destination of the kind.
     */
    async payeeFacts(
      em: EntityManager,
      payeeIds: readonly string[],
      destinationKind: string,
      country: string | null,
    ): Promise<Map<string, { hasDestination: boolean }>> {
      if (payeeIds.length === 0) return new Map();
      const rows = await sql<{ id: string; has_destination: boolean }>(
        em,
        `SELECT p.id,
                EXISTS (SELECT 1 FROM ${t.destinations} d WHERE d.payee_id = p.id AND d.kind = $2) AS has_destination
           FROM ${t.payees} p
          WHERE p.id = ANY($1::text[]) AND ($3::text IS NULL OR p.country = $3)`,
        [payeeIds, destinationKind, country],
      );
      return new Map(rows.map((r) => [r.id, { hasDestination: r.has_destination }]));
    },

    /** Queues the snapshot's payouts (in this order) and records the payees it skips. */
    async insertSnapshot(
      em: EntityManager,
      s: { bulkId: string; currency: string; paid: readonly BulkQueued[]; skipped: readonly BulkSkip[] },
    ): Promise<void> {
      await sql(
        em,
        `INSERT INTO ${t.queue} (bulk_id, payee_id, payout_id, seq, amount, currency)
         SELECT $1, u.payee_id, u.payout_id, u.seq, u.amount, $2
           FROM unnest($3::text[], $4::text[], $5::int[], $6::bigint[]) AS u (payee_id, payout_id, seq, amount)`,
        [
          s.bulkId,
          s.currency,
          s.paid.map((p) => p.payeeId),
          s.paid.map((p) => p.payoutId),
          s.paid.map((_, i) => i),
          s.paid.map((p) => p.amount.toString()),
        ],
      );
      await sql(
        em,
        `INSERT INTO ${t.skipped} (bulk_id, payee_id, reason)
         SELECT $1, u.payee_id, u.reason FROM unnest($2::text[], $3::text[]) AS u (payee_id, reason)`,
        [s.bulkId, s.skipped.map((x) => x.payeeId), s.skipped.map((x) => x.reason)],
      );
    },

    async skipped(em: EntityManager, bulkId: string): Promise<BulkSkip[]> {
      const rows = await sql<{ payee_id: string; reason: string }>(
        em,
        `SELECT payee_id, reason FROM ${t.skipped} WHERE bulk_id = $1 ORDER BY payee_id`,
        [bulkId],
      );
      return rows.map((r) => ({ payeeId: r.payee_id, reason: r.reason }));
    },

    /** How many skipped payees the bulk has (with this reason, when given). */
    async skippedCount(em: EntityManager, bulkId: string, reason?: string): Promise<number> {
      const [row] = await sql<{ n: string }>(
        em,
        `SELECT count(*)::text AS n FROM ${t.skipped} WHERE bulk_id = $1 AND ($2::text IS NULL OR reason = $2)`,
        [bulkId, reason ?? null],
      );
      return Number(row?.n ?? 0);
    },

    async queueCounts(em: EntityManager, bulkId: string): Promise<{ total: number; started: number }> {
      const [row] = await sql<{ total: string; started: string }>(
        em,
        `SELECT count(*)::text AS total, count(*) FILTER (WHERE started)::text AS started
           FROM ${t.queue} WHERE bulk_id = $1`,
        [bulkId],
      );
      return { total: Number(row?.total ?? 0), started: Number(row?.started ?? 0) };
    },

    async queued(
      em: EntityManager,
      bulkId: string,
    ): Promise<{ payoutId: string; payeeId: string; amount: string; currency: string }[]> {
      const rows = await sql<{ payout_id: string; payee_id: string; amount: string; currency: string }>(
        em,
        `SELECT payout_id, payee_id, amount::text AS amount, currency FROM ${t.queue} WHERE bulk_id = $1 ORDER BY seq`,
        [bulkId],
      );
      return rows.map((r) => ({
        payoutId: r.payout_id,
        payeeId: r.payee_id,
        amount: r.amount,
        currency: r.currency,
      }));
    },

    /** Moves the payouts not started yet to the skipped list with the reason. */
    async dropUnstarted(em: EntityManager, bulkId: string, reason: string): Promise<void> {
      await sql(
        em,
        `WITH dropped AS (DELETE FROM ${t.queue} WHERE bulk_id = $1 AND NOT started RETURNING payee_id)
         INSERT INTO ${t.skipped} (bulk_id, payee_id, reason) SELECT $1, payee_id, $2 FROM dropped
         ON CONFLICT (bulk_id, payee_id) DO NOTHING`,
        [bulkId, reason],
      );
    },

    /** Started payouts whose payout row is missing or not in one of the final states, in start order. */
    async startedNotFinal(
      em: EntityManager,
      bulkId: string,
      finalStates: readonly string[],
    ): Promise<string[]> {
      const rows = await sql<{ payout_id: string }>(
        em,
        `SELECT q.payout_id FROM ${t.queue} q LEFT JOIN ${t.payouts} p ON p.id = q.payout_id
          WHERE q.bulk_id = $1 AND q.started AND (p.id IS NULL OR NOT p.state = ANY($2::text[]))
          ORDER BY q.seq`,
        [bulkId, finalStates],
      );
      return rows.map((r) => r.payout_id);
    },

    async setCancellation(em: EntityManager, bulkId: string, cancellation: object): Promise<void> {
      await sql(em, `UPDATE ${t.bulks} SET cancellation = $2::jsonb, updated_at = now() WHERE id = $1`, [
        bulkId,
        JSON.stringify(cancellation),
      ]);
    },

    async markCompleted(em: EntityManager, bulkId: string, summary: BulkSummary): Promise<void> {
      await sql(
        em,
        `UPDATE ${t.bulks} SET status = 'completed', summary = $2::jsonb, updated_at = now() WHERE id = $1`,
        [bulkId, JSON.stringify(summary)],
      );
    },
  };
}
