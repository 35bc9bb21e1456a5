// Bulk payouts (company-initiated withdrawals for every payee matching criteria), as the API and the bulk
// workflow's activities see them. The request commits a snapshot once — who is paid which amount, who is
// skipped and why — and the workflow `bulk-<bulkId>` starts those payouts in waves (`startPayoutWave`).
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type BulkCancellation,
  type BulkSummary,
  bulkCompletedEventId,
} from '../../workflows/bulk-contract.ts';
import {
  type Actor,
  FINAL_STATES,
  type MoneyWire,
  type PayoutMethod,
  type PayoutWave,
} from '../../workflows/payout-contract.ts';
import { type AuditRecord, recordAudit } from '../audit/audit.ts';
import { qualify } from '../db/identifiers.ts';
import type { Database } from '../db/open.ts';
import { sql } from '../db/sql.ts';
import { money } from '../money/index.ts';
import { canonicalJson } from '../shared/canonical-json.ts';
import type { WebhookOutbox } from '../webhooks/outbox.ts';
import { PayoutDecisionRefused, type PayoutGateway } from './gateway.ts';
import { destinationKindFor } from './service.ts';
import { type PayoutQueue, queueOutcomes, startPayoutWave } from './waves.ts';

/** What a bulk request asks for (validated by the API's `bulkBody`). */
export interface BulkCriteria {
  currency: string;
  method: PayoutMethod;
  /** Minor units; default 1. */
  minBalance?: string | undefined;
  country?: string | undefined;
  excludePayeeIds?: string[] | undefined;
  instant?: boolean | undefined;
  /** At most this many payees (default 10,000). */
  limit?: number | undefined;
}

/** The bulk id exists with other criteria: the same key may not ask for a different bulk. */
export class BulkCriteriaMismatch extends Error {
  readonly code = 'bulk_criteria_mismatch';
  constructor(bulkId: string) {
    super(`bulk ${bulkId} was already requested with other criteria`);
    this.name = 'BulkCriteriaMismatch';
  }
}

export interface BulkRecord {
  bulkId: string;
  status: 'running' | 'completed';
  criteria: BulkCriteria;
  requestedBy: Actor;
  createdAt: string;
  updatedAt: string;
  cancellation: BulkCancellation | null;
  summary: BulkSummary | null;
}

export interface BulkPayout {
  payoutId: string;
  payeeId: string;
  amount: MoneyWire;
}

export interface BulkSkip {
  payeeId: string;
  reason: string;
}

const queueOf = (bulkId: string): PayoutQueue => ({
  table: 'bulk_payouts',
  ownerColumn: 'bulk_id',
  ownerId: bulkId,
});

export type BulkService = ReturnType<typeof createBulkService>;

export function createBulkService(deps: { db: Database; outbox: WebhookOutbox }) {
  const { db, outbox } = deps;
  const t = {
    bulks: qualify(db.schema, 'payout_bulks'),
    queue: qualify(db.schema, 'bulk_payouts'),
    skipped: qualify(db.schema, 'bulk_skipped'),
    accounts: qualify(db.schema, 'ledger_accounts'),
    payees: qualify(db.schema, 'payees'),
    destinations: qualify(db.schema, 'payee_destinations'),
  };

  async function header(em: EntityManager, bulkId: string): Promise<BulkRecord | undefined> {
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
  }

  async function skippedOf(em: EntityManager, bulkId: string): Promise<BulkSkip[]> {
    const rows = await sql<{ payee_id: string; reason: string }>(
      em,
      `SELECT payee_id, reason FROM ${t.skipped} WHERE bulk_id = $1 ORDER BY payee_id`,
      [bulkId],
    );
    return rows.map((r) => ({ payeeId: r.payee_id, reason: r.reason }));
  }

  return {
    /**
     * Commits the bulk's snapshot once: every payee with at least `minBalance` available in the currency (and
     * of the country), paid their whole available balance, except the excluded ones and those without a
     * destination for the method (skipped, with why). Amounts are what the balances say now; a payout whose
     * payee spent the money before its turn is rejected for insufficient funds like any other. Asking again
     * with the same criteria finds the snapshot (returns false); other criteria are refused.
     */
    async snapshot(
      em: EntityManager,
      o: {
        bulkId: string;
        criteria: BulkCriteria;
        requestedBy: Actor;
        payoutIdOf: (payeeId: string) => string;
        audit: Omit<AuditRecord, 'details'>;
      },
    ): Promise<boolean> {
      const c = o.criteria;
      return em.transactional(async (tx) => {
        const inserted = await sql(
          tx,
          `INSERT INTO ${t.bulks} (id, criteria, currency, method, instant, requested_by, requested_role)
                VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7)
           ON CONFLICT (id) DO NOTHING RETURNING 1`,
          [
            o.bulkId,
            JSON.stringify(c),
            c.currency,
            c.method,
            c.instant ?? false,
            o.requestedBy.actor,
            o.requestedBy.role,
          ],
        );
        if (inserted.length === 0) {
          const existing = await header(tx, o.bulkId);
          if (canonicalJson(existing?.criteria) !== canonicalJson(c))
            throw new BulkCriteriaMismatch(o.bulkId);
          return false;
        }
        const kind = destinationKindFor[c.method];
        const candidates = await sql<{ payee_id: string; available: string; has_destination: boolean }>(
          tx,
          `SELECT a.owner AS payee_id, a.balance::text AS available,
                  EXISTS (SELECT 1 FROM ${t.destinations} d WHERE d.payee_id = a.owner AND d.kind = $2)
                    AS has_destination
             FROM ${t.accounts} a JOIN ${t.payees} p ON p.id = a.owner
            WHERE a.kind = 'payee_available' AND a.currency = $1 AND a.balance >= $3
              AND ($4::text IS NULL OR p.country = $4)
            ORDER BY a.owner LIMIT $5`,
          [c.currency, kind, c.minBalance ?? '1', c.country ?? null, c.limit ?? 10_000],
        );
        const excluded = new Set(c.excludePayeeIds ?? []);
        const paid: { payeeId: string; payoutId: string; amount: string }[] = [];
        const skipped: BulkSkip[] = [];
        for (const r of candidates) {
          if (excluded.has(r.payee_id))
            skipped.push({ payeeId: r.payee_id, reason: 'excluded by the request' });
          else if (!r.has_destination)
            skipped.push({ payeeId: r.payee_id, reason: `no ${kind} destination` });
          else paid.push({ payeeId: r.payee_id, payoutId: o.payoutIdOf(r.payee_id), amount: r.available });
        }
        await sql(
          tx,
          `INSERT INTO ${t.queue} (bulk_id, payee_id, payout_id, seq, amount, currency)
           SELECT $1, u.payee_id, u.payout_id, u.seq, u.amount, $2
             FROM unnest($3::text[], $4::text[], $5::int[], $6::bigint[]) AS u (payee_id, payout_id, seq, amount)`,
          [
            o.bulkId,
            c.currency,
            paid.map((p) => p.payeeId),
            paid.map((p) => p.payoutId),
            paid.map((_, i) => i),
            paid.map((p) => p.amount),
          ],
        );
        await sql(
          tx,
          `INSERT INTO ${t.skipped} (bulk_id, payee_id, reason)
           SELECT $1, u.payee_id, u.reason FROM unnest($2::text[], $3::text[]) AS u (payee_id, reason)`,
          [o.bulkId, skipped.map((s) => s.payeeId), skipped.map((s) => s.reason)],
        );
        await recordAudit(tx, {
          ...o.audit,
          details: { criteria: c, payouts: paid.length, skipped: skipped.length },
        });
        return true;
      });
    },

    /** The bulk as requested and how it stands, or undefined when there is no such bulk. */
    async get(em: EntityManager, bulkId: string) {
      const head = await header(em, bulkId);
      if (!head) return undefined;
      const [counts] = await sql<{ total: string; started: string }>(
        em,
        `SELECT count(*)::text AS total, count(*) FILTER (WHERE started)::text AS started
           FROM ${t.queue} WHERE bulk_id = $1`,
        [bulkId],
      );
      return {
        ...head,
        payouts: {
          total: Number(counts?.total ?? 0),
          started: Number(counts?.started ?? 0),
          byState: await queueOutcomes(em, db.schema, queueOf(bulkId)),
        },
        skipped: await skippedOf(em, bulkId),
      };
    },

    /** Every payout the bulk makes (started or still queued), in the order they are started. */
    async payouts(em: EntityManager, bulkId: string): Promise<BulkPayout[]> {
      const rows = await sql<{ payout_id: string; payee_id: string; amount: string; currency: string }>(
        em,
        `SELECT payout_id, payee_id, amount::text AS amount, currency FROM ${t.queue} WHERE bulk_id = $1 ORDER BY seq`,
        [bulkId],
      );
      return rows.map((r) => ({
        payoutId: r.payout_id,
        payeeId: r.payee_id,
        amount: money(r.amount, r.currency),
      }));
    },

    /** Starts the bulk's next payouts while fewer than `window` of them are in flight. */
    async startWave(
      gateway: PayoutGateway,
      bulkId: string,
      window: number,
      heartbeat: () => void,
    ): Promise<PayoutWave> {
      const head = await header(db.em(), bulkId);
      if (!head)
        throw new Error(`bulk ${bulkId} has no snapshot; it is committed before its workflow starts`);
      const { criteria, requestedBy } = head;
      return startPayoutWave({
        db,
        queue: queueOf(bulkId),
        window,
        gateway,
        heartbeat,
        toInputs: async (rows) =>
          rows.map((r) => ({
            payoutId: r.payoutId,
            payeeId: r.payeeId,
            amount: money(r.amount, r.currency),
            method: criteria.method,
            instantRequested: criteria.instant ?? false,
            requestedBy,
            bulkId,
          })),
      });
    },

    /**
     * Carries out a cancel of the whole bulk: payouts not started yet move to the skipped list (with who
     * cancelled and why), started ones are cancelled where they still can be (not yet with a provider); the
     * others (`refused`) run to their end. Safe to repeat.
     */
    async cancelRemaining(
      gateway: PayoutGateway,
      bulkId: string,
      c: BulkCancellation,
      heartbeat: () => void,
    ): Promise<{ dropped: number; refused: number }> {
      const reason = `bulk cancelled by ${c.by.actor}: ${c.reason}`;
      // Recorded at once (GET shows the cancel while started payouts are being cancelled), then again with
      // what it did.
      await db.em().transactional(async (tx) => {
        await sql(
          tx,
          `WITH dropped AS (DELETE FROM ${t.queue} WHERE bulk_id = $1 AND NOT started RETURNING payee_id)
           INSERT INTO ${t.skipped} (bulk_id, payee_id, reason) SELECT $1, payee_id, $2 FROM dropped
           ON CONFLICT (bulk_id, payee_id) DO NOTHING`,
          [bulkId, reason],
        );
        await sql(tx, `UPDATE ${t.bulks} SET cancellation = $2::jsonb, updated_at = now() WHERE id = $1`, [
          bulkId,
          JSON.stringify(c),
        ]);
      });
      const open = await sql<{ payout_id: string }>(
        db.em(),
        `SELECT q.payout_id FROM ${t.queue} q LEFT JOIN ${qualify(db.schema, 'payouts')} p ON p.id = q.payout_id
          WHERE q.bulk_id = $1 AND q.started AND (p.id IS NULL OR NOT p.status = ANY($2::text[]))
          ORDER BY q.seq`,
        [bulkId, FINAL_STATES],
      );
      let refused = 0;
      for (let i = 0; i < open.length; i += 25) {
        await Promise.all(
          open.slice(i, i + 25).map(async ({ payout_id }) => {
            try {
              await gateway.cancel(payout_id, c.by, reason);
            } catch (err) {
              if (!(err instanceof PayoutDecisionRefused)) throw err;
              refused += 1;
            }
          }),
        );
        heartbeat();
      }
      const [dropped] = await sql<{ n: string }>(
        db.em(),
        `SELECT count(*)::text AS n FROM ${t.skipped} WHERE bulk_id = $1 AND reason = $2`,
        [bulkId, reason],
      );
      const done = { dropped: Number(dropped?.n ?? 0), refused };
      await sql(db.em(), `UPDATE ${t.bulks} SET cancellation = $2::jsonb, updated_at = now() WHERE id = $1`, [
        bulkId,
        JSON.stringify({ ...c, ...done }),
      ]);
      return done;
    },

    /** Records how the bulk's payouts stand, with its `payout.bulk_completed` event (same transaction). */
    async complete(bulkId: string, cancellation?: BulkCancellation): Promise<BulkSummary> {
      return db.em().transactional(async (em) => {
        const payouts = await queueOutcomes(em, db.schema, queueOf(bulkId));
        const [skipped] = await sql<{ n: string }>(
          em,
          `SELECT count(*)::text AS n FROM ${t.skipped} WHERE bulk_id = $1`,
          [bulkId],
        );
        const summary: BulkSummary = {
          bulkId,
          payouts,
          total: Object.values(payouts).reduce((a, b) => a + b, 0),
          skipped: Number(skipped?.n ?? 0),
          ...(cancellation ? { cancellation } : {}),
        };
        await sql(
          em,
          `UPDATE ${t.bulks} SET status = 'completed', summary = $2::jsonb, updated_at = now() WHERE id = $1`,
          [bulkId, JSON.stringify(summary)],
        );
        await outbox.enqueue(
          {
            id: bulkCompletedEventId(bulkId),
            type: 'payout.bulk_completed',
            data: { ...summary },
            occurredAt: new Date(),
          },
          em,
        );
        return summary;
      });
    },

    async deliverWebhook(eventId: string): Promise<void> {
      await outbox.deliverWebhook(eventId);
    },
  };
}
