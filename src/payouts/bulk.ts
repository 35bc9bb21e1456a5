// Bulk payouts (company-initiated withdrawals for every payee matching criteria), as the API and the bulk
// workflow's activities see them. The request commits a snapshot once — who is paid which amount, who is
// skipped and why — and the workflow `bulk-<bulkId>` starts those payouts in waves (`startPayoutWave`).
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type BulkCancellation,
  type BulkSummary,
  bulkCompletedEventId,
} from '../../workflows/bulk-contract.ts';
import { type AuditRecord, recordAudit } from '../audit/audit.ts';
import type { Actor } from '../auth/actor.ts';
import type { Database } from '../db/open.ts';
import { availableBalancesPage } from '../ledger/index.ts';
import { money } from '../money/index.ts';
import type { MoneyWire } from '../money/wire.ts';
import { canonicalJson } from '../shared/canonical-json.ts';
import type { WebhookOutbox } from '../webhooks/outbox.ts';
import { type BulkQueued, createBulkStore } from './bulk-store.ts';
import { PayoutDecisionRefused, type PayoutGateway } from './gateway.ts';
import { destinationKindFor } from './service.ts';
import { FINAL_STATES, type PayoutMethod, type PayoutWave } from './state.ts';
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

export function createBulkService(deps: {
  db: Database;
  outbox: WebhookOutbox;
  /** Balances read per page while looking for the bulk's payees (default 1,000). */
  candidatePage?: number;
}) {
  const { db, outbox } = deps;
  const store = createBulkStore(db.schema);
  const pageSize = deps.candidatePage ?? 1_000;

  /**
   * Payees with at least `minBalance` available in the currency (and of the country), by payee id, at
   * most `limit`, each with its available balance and whether it has a destination of the kind.
   */
  async function candidates(em: EntityManager, c: BulkCriteria, kind: string) {
    const limit = c.limit ?? 10_000;
    const out: { payeeId: string; available: bigint; hasDestination: boolean }[] = [];
    for (let after: string | null = null; out.length < limit; ) {
      const page = await availableBalancesPage(em, db.schema, {
        currency: c.currency,
        min: BigInt(c.minBalance ?? '1'),
        after,
        limit: pageSize,
      });
      const facts = await store.payeeFacts(
        em,
        page.map((p) => p.payeeId),
        kind,
        c.country ?? null,
      );
      for (const p of page) {
        const f = facts.get(p.payeeId);
        if (f && out.length < limit) out.push({ ...p, hasDestination: f.hasDestination });
      }
      if (page.length < pageSize) break;
      after = page.at(-1)!.payeeId;
    }
    return out;
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
        if (!(await store.insert(tx, o))) {
          const existing = await store.header(tx, o.bulkId);
          if (canonicalJson(existing?.criteria) !== canonicalJson(c))
            throw new BulkCriteriaMismatch(o.bulkId);
          return false;
        }
        const kind = destinationKindFor[c.method];
        const excluded = new Set(c.excludePayeeIds ?? []);
        const paid: BulkQueued[] = [];
        const skipped: BulkSkip[] = [];
        for (const r of await candidates(tx, c, kind)) {
          if (excluded.has(r.payeeId))
            skipped.push({ payeeId: r.payeeId, reason: 'excluded by the request' });
          else if (!r.hasDestination) skipped.push({ payeeId: r.payeeId, reason: `no ${kind} destination` });
          else paid.push({ payeeId: r.payeeId, payoutId: o.payoutIdOf(r.payeeId), amount: r.available });
        }
        await store.insertSnapshot(tx, { bulkId: o.bulkId, currency: c.currency, paid, skipped });
        await recordAudit(tx, {
          ...o.audit,
          details: { criteria: c, payouts: paid.length, skipped: skipped.length },
        });
        return true;
      });
    },

    /** The bulk as requested and how it stands, or undefined when there is no such bulk. */
    async get(em: EntityManager, bulkId: string) {
      const head = await store.header(em, bulkId);
      if (!head) return undefined;
      return {
        ...head,
        payouts: {
          ...(await store.queueCounts(em, bulkId)),
          byState: await queueOutcomes(em, db.schema, queueOf(bulkId)),
        },
        skipped: await store.skipped(em, bulkId),
      };
    },

    /** Every payout the bulk makes (started or still queued), in the order they are started. */
    async payouts(em: EntityManager, bulkId: string): Promise<BulkPayout[]> {
      return (await store.queued(em, bulkId)).map((r) => ({
        payoutId: r.payoutId,
        payeeId: r.payeeId,
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
      const head = await store.header(db.em(), bulkId);
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
        await store.dropUnstarted(tx, bulkId, reason);
        await store.setCancellation(tx, bulkId, c);
      });
      const open = await store.startedNotFinal(db.em(), bulkId, FINAL_STATES);
      let refused = 0;
      for (let i = 0; i < open.length; i += 25) {
        await Promise.all(
          open.slice(i, i + 25).map(async (payout_id) => {
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
      const done = { dropped: await store.skippedCount(db.em(), bulkId, reason), refused };
      await store.setCancellation(db.em(), bulkId, { ...c, ...done });
      return done;
    },

    /** Records how the bulk's payouts stand, with its `payout.bulk_completed` event (same transaction). */
    async complete(bulkId: string, cancellation?: BulkCancellation): Promise<BulkSummary> {
      return db.em().transactional(async (em) => {
        const payouts = await queueOutcomes(em, db.schema, queueOf(bulkId));
        const summary: BulkSummary = {
          bulkId,
          payouts,
          total: Object.values(payouts).reduce((a, b) => a + b, 0),
          skipped: await store.skippedCount(em, bulkId),
          ...(cancellation ? { cancellation } : {}),
        };
        await store.markCompleted(em, bulkId, summary);
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
