// Period close, as the workflow's activities see it: every step is idempotent and keyed by period, run and
// batch, so a retried or resumed activity finds committed work and returns its recorded summary.

import type { PayoutInput, PayoutWave } from '../../workflows/payout-contract.ts';
import type {
  BatchSummary,
  CompletionSummary,
  DiffSummary,
  RunSummary,
} from '../../workflows/period-contract.ts';
import type { PeriodsConfig } from '../config/periods.ts';
import { qualify } from '../db/identifiers.ts';
import type { Database } from '../db/open.ts';
import { sql } from '../db/sql.ts';
import { type Ledger, lockPayeeBalances, type PostingInput, postedKeys } from '../ledger/index.ts';
import { money } from '../money/index.ts';
import { type PayoutGateway, payoutIdFor } from '../payouts/gateway.ts';
import { type PayoutQueue, queueOutcomes, startPayoutWave } from '../payouts/waves.ts';
import {
  buildContext,
  type CalculationContext,
  type PayeeActivity,
  type Statement,
  statementsFor,
} from '../plans/calculate.ts';
import type { PlanRegistry } from '../plans/registry.ts';
import type { WebhookOutbox } from '../webhooks/outbox.ts';
import { netStatement, periodPosting, periodPostingKey } from './netting.ts';

export class PeriodStateError extends Error {
  readonly code = 'period_state';
  constructor(message: string) {
    super(message);
    this.name = 'PeriodStateError';
  }
}

const METHOD: Record<string, PayoutInput['method']> = {
  bank_account: 'bank_transfer',
  wallet: 'wallet',
  card: 'card',
  crypto: 'crypto',
};

type Totals = Record<string, string>;

const queueOf = (periodId: string): PayoutQueue => ({
  table: 'period_payouts',
  ownerColumn: 'period_id',
  ownerId: periodId,
});

export interface PeriodServiceDeps {
  db: Database;
  ledger: Ledger;
  plans: PlanRegistry;
  outbox: WebhookOutbox;
  settings: PeriodsConfig;
}

export type PeriodService = ReturnType<typeof createPeriodService>;

export function createPeriodService(deps: PeriodServiceDeps) {
  const { db, ledger, plans, outbox, settings } = deps;
  const t = {
    periods: qualify(db.schema, 'periods'),
    events: qualify(db.schema, 'earnings_events'),
    statements: qualify(db.schema, 'period_statements'),
    batches: qualify(db.schema, 'period_batches'),
    tree: qualify(db.schema, 'period_tree'),
    payouts: qualify(db.schema, 'period_payouts'),
    payoutRows: qualify(db.schema, 'payouts'),
    payees: qualify(db.schema, 'payees'),
  };

  // One calculation context per (period, run): built once per worker process from the frozen inputs.
  let cached: { key: string; ctx: CalculationContext } | undefined;

  // Large reads are paged by payee id (keyset) so no single result set holds a whole period.
  const PAGE = 2_000;

  async function loadActivity(periodId: string): Promise<PayeeActivity[]> {
    const rows: {
      payee_id: string;
      type: string;
      currency: string;
      category: string;
      amount: string;
      volume: string;
    }[] = [];
    for (let after = ''; ; ) {
      const page = await sql<(typeof rows)[number]>(
        db.em(),
        `WITH p AS (SELECT DISTINCT payee_id FROM ${t.events} WHERE period_id = $1 AND payee_id > $2
                    ORDER BY payee_id LIMIT $3)
         SELECT e.payee_id, e.type, e.currency, e.category, sum(e.amount)::text AS amount, sum(e.volume)::text AS volume
           FROM ${t.events} e JOIN p ON p.payee_id = e.payee_id
          WHERE e.period_id = $1 GROUP BY 1, 2, 3, 4 ORDER BY 1`,
        [periodId, after, PAGE],
      );
      rows.push(...page);
      if (page.length === 0) break;
      after = page[page.length - 1]!.payee_id;
    }
    const byPayee = new Map<string, PayeeActivity>();
    const pass = new Map<string, Map<string, bigint>>();
    for (const r of rows) {
      let a = byPayee.get(r.payee_id);
      if (!a) {
        a = { payeeId: r.payee_id, volume: 0, sales: [], passthrough: [] };
        byPayee.set(r.payee_id, a);
      }
      const vol = Number(r.volume);
      const amount = BigInt(r.amount);
      a.volume += r.type === 'clawback' ? -vol : r.type === 'sale' || r.type === 'adjustment' ? vol : 0;
      if (r.type === 'sale') a.sales.push({ currency: r.currency, category: r.category, amount });
      else {
        let p = pass.get(r.payee_id);
        if (!p) {
          p = new Map();
          pass.set(r.payee_id, p);
        }
        p.set(r.currency, (p.get(r.currency) ?? 0n) + (r.type === 'clawback' ? -amount : amount));
      }
    }
    for (const [payeeId, p] of pass) {
      byPayee.get(payeeId)!.passthrough = [...p].map(([currency, amount]) => ({ currency, amount }));
    }
    return [...byPayee.values()];
  }

  async function context(periodId: string, run: number, heartbeat: () => void): Promise<CalculationContext> {
    const key = `${periodId}:${run}`;
    if (cached?.key === key) return cached.ctx;
    const [period] = await sql<{ plan_version: string }>(
      db.em(),
      `SELECT plan_version FROM ${t.periods} WHERE id = $1`,
      [periodId],
    );
    if (!period) throw new PeriodStateError(`period ${periodId} does not exist`);
    const planVersion = (await runPlan(periodId, run)) ?? period.plan_version;
    const activity = await loadActivity(periodId);
    heartbeat();
    const tree: { payee_id: string; sponsor_id: string | null }[] = [];
    for (let after = ''; ; ) {
      const page = await sql<{ payee_id: string; sponsor_id: string | null }>(
        db.em(),
        `SELECT payee_id, sponsor_id FROM ${t.tree} WHERE period_id = $1 AND run = $2 AND payee_id > $3
          ORDER BY payee_id LIMIT $4`,
        [periodId, run, after, PAGE * 5],
      );
      tree.push(...page);
      if (page.length < PAGE * 5) break;
      after = page[page.length - 1]!.payee_id;
    }
    heartbeat();
    const ctx = buildContext(
      plans.get(planVersion),
      activity,
      tree.map((r) => ({ payeeId: r.payee_id, sponsorId: r.sponsor_id })),
    );
    cached = { key, ctx };
    return ctx;
  }

  // Plan version per run is recorded in the 'calculate' batch -1 row written by prepareRun.
  async function runPlan(periodId: string, run: number): Promise<string | undefined> {
    const [row] = await sql<{ summary: { planVersion?: string } }>(
      db.em(),
      `SELECT summary FROM ${t.batches} WHERE period_id = $1 AND stage = 'calculate' AND run = $2 AND batch = -1`,
      [periodId, run],
    );
    return row?.summary.planVersion;
  }

  function addTotals(into: Totals, statements: readonly Statement[]) {
    for (const s of statements) into[s.currency] = (BigInt(into[s.currency] ?? '0') + s.total).toString();
  }

  async function runTotals(
    periodId: string,
    run: number,
  ): Promise<{ totals: Totals; payees: number; statements: number }> {
    const rows = await sql<{ currency: string; total: string; payees: string; n: string }>(
      db.em(),
      `SELECT currency, sum(total)::text AS total, count(DISTINCT payee_id)::text AS payees, count(*)::text AS n
         FROM ${t.statements} WHERE period_id = $1 AND run = $2 GROUP BY currency ORDER BY currency`,
      [periodId, run],
    );
    const [payees] = await sql<{ n: string }>(
      db.em(),
      `SELECT count(DISTINCT payee_id)::text AS n FROM ${t.statements} WHERE period_id = $1 AND run = $2`,
      [periodId, run],
    );
    return {
      totals: Object.fromEntries(rows.map((r) => [r.currency, r.total])),
      payees: Number(payees?.n ?? 0),
      statements: rows.reduce((n, r) => n + Number(r.n), 0),
    };
  }

  return {
    settings,

    /** Closes the period to new events (idempotent). Returns the plan version it will be calculated with. */
    async close(periodId: string, planVersion: string | undefined): Promise<{ planVersion: string }> {
      const version = planVersion ?? settings.defaultPlanVersion;
      plans.get(version); // fail early on an unknown version
      const em = db.em();
      await sql(em, `INSERT INTO ${t.periods} (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [periodId]);
      const [row] = await sql<{ status: string; plan_version: string | null }>(
        em,
        `UPDATE ${t.periods}
            SET status = CASE WHEN status IN ('open', 'reopened') THEN 'closed' ELSE status END,
                plan_version = CASE WHEN status IN ('open', 'reopened') THEN $2 ELSE plan_version END,
                closed_at = CASE WHEN status IN ('open', 'reopened') THEN now() ELSE closed_at END,
                updated_at = now()
          WHERE id = $1 RETURNING status, plan_version`,
        [periodId, version],
      );
      return { planVersion: row?.plan_version ?? version };
    },

    /** Rejected by an approver: the period takes events again until it is closed anew. */
    async reopen(periodId: string): Promise<void> {
      await sql(
        db.em(),
        `UPDATE ${t.periods} SET status = 'reopened', updated_at = now() WHERE id = $1 AND status = 'closed'`,
        [periodId],
      );
    },

    /** Freezes the sponsor tree for a run and says how many batches the calculation has. */
    async prepareRun(
      periodId: string,
      run: number,
      planVersion: string,
    ): Promise<{ batches: number; payees: number }> {
      plans.get(planVersion);
      await db.em().transactional(async (em) => {
        const inserted = await sql(
          em,
          `INSERT INTO ${t.batches} (period_id, stage, run, batch, summary) VALUES ($1, 'calculate', $2, -1, $3::jsonb)
           ON CONFLICT DO NOTHING RETURNING batch`,
          [periodId, run, JSON.stringify({ planVersion })],
        );
        if (inserted.length === 0) return;
        await sql(
          em,
          `INSERT INTO ${t.tree} (period_id, run, payee_id, sponsor_id) SELECT $1, $2, id, sponsor_id FROM ${t.payees}`,
          [periodId, run],
        );
      });
      const ctx = await context(periodId, run, () => {});
      return { batches: Math.ceil(ctx.payeeIds.length / settings.batchSize), payees: ctx.payeeIds.length };
    },

    /** Statements of one batch of payees, committed with the batch marker; a committed batch is not redone. */
    async calculateBatch(
      periodId: string,
      run: number,
      batch: number,
      heartbeat: () => void,
    ): Promise<BatchSummary> {
      const done = await sql<{ summary: BatchSummary }>(
        db.em(),
        `SELECT summary FROM ${t.batches} WHERE period_id = $1 AND stage = 'calculate' AND run = $2 AND batch = $3`,
        [periodId, run, batch],
      );
      if (done[0]) return { ...done[0].summary, resumed: true };
      const ctx = await context(periodId, run, heartbeat);
      const slice = ctx.payeeIds.slice(batch * settings.batchSize, (batch + 1) * settings.batchSize);
      const statements = statementsFor(ctx, slice);
      heartbeat();
      const totals: Totals = {};
      addTotals(totals, statements);
      const summary: BatchSummary = {
        batch,
        payees: slice.length,
        statements: statements.length,
        totals,
        resumed: false,
      };
      await db.em().transactional(async (em) => {
        const marked = await sql(
          em,
          `INSERT INTO ${t.batches} (period_id, stage, run, batch, summary) VALUES ($1, 'calculate', $2, $3, $4::jsonb)
           ON CONFLICT DO NOTHING RETURNING batch`,
          [periodId, run, batch, JSON.stringify(summary)],
        );
        if (marked.length === 0) return; // a concurrent attempt committed it first
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
            statements.map((s) =>
              JSON.stringify({
                personalVolume: s.personalVolume,
                groupVolume: s.groupVolume,
                rank: s.rank,
                commission: s.commission.toString(),
                overrides: s.overrides.toString(),
                bonus: s.bonus.toString(),
                adjustments: s.adjustments.toString(),
              }),
            ),
          ],
        );
      });
      return summary;
    },

    /** Totals of a finished run, the approvals it needs, and what changed since the previous run. */
    async finishRun(
      periodId: string,
      run: number,
      planVersion: string,
      previousRun: number | null,
    ): Promise<RunSummary> {
      await sql(
        db.em(),
        `UPDATE ${t.periods} SET run = $2, plan_version = $3, updated_at = now() WHERE id = $1`,
        [periodId, run, planVersion],
      );
      const { totals, payees, statements } = await runTotals(periodId, run);
      const dual = Object.entries(totals).some(([c, v]) => {
        const limit = settings.dualControlThreshold[c];
        return limit !== undefined && BigInt(v) > BigInt(limit);
      });
      let diff: DiffSummary | undefined;
      if (previousRun !== null) {
        const [d] = await sql<{ changed: string; added: string; removed: string }>(
          db.em(),
          `SELECT count(*) FILTER (WHERE a.total IS NOT NULL AND b.total IS NOT NULL AND a.total <> b.total)::text AS changed,
                  count(*) FILTER (WHERE a.total IS NULL)::text AS added,
                  count(*) FILTER (WHERE b.total IS NULL)::text AS removed
             FROM (SELECT payee_id, currency, total FROM ${t.statements} WHERE period_id = $1 AND run = $2) a
             FULL JOIN (SELECT payee_id, currency, total FROM ${t.statements} WHERE period_id = $1 AND run = $3) b
               ON a.payee_id = b.payee_id AND a.currency = b.currency`,
          [periodId, previousRun, run],
        );
        const before = await runTotals(periodId, previousRun);
        const currencies = [...new Set([...Object.keys(before.totals), ...Object.keys(totals)])].sort();
        diff = {
          fromRun: previousRun,
          toRun: run,
          changedStatements: Number(d?.changed ?? 0),
          addedStatements: Number(d?.added ?? 0),
          removedStatements: Number(d?.removed ?? 0),
          totals: currencies.map((currency) => {
            const b = BigInt(before.totals[currency] ?? '0');
            const a = BigInt(totals[currency] ?? '0');
            return { currency, before: b.toString(), after: a.toString(), delta: (a - b).toString() };
          }),
        };
      }
      return {
        run,
        planVersion,
        totals,
        payees,
        statements,
        approvalsRequired: dual ? 2 : 1,
        ...(diff ? { diff } : {}),
      };
    },

    /**
     * Posts one batch of the approved run: one ledger transaction per payee and currency (key period +
     * payee + currency), netted against receivables, and queues auto-payouts — all in one transaction with
     * the batch marker, so a crash either leaves the whole batch posted or none of it.
     */
    async postBatch(periodId: string, run: number, batch: number): Promise<BatchSummary> {
      const done = await sql<{ summary: BatchSummary }>(
        db.em(),
        `SELECT summary FROM ${t.batches} WHERE period_id = $1 AND stage = 'post' AND run = $2 AND batch = $3`,
        [periodId, run, batch],
      );
      if (done[0]) return { ...done[0].summary, resumed: true };
      return db.em().transactional(async (em) => {
        const rows = await sql<{
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
        // A key already posted (e.g. by a run approved earlier, then reopened) is never posted again.
        const keys = rows.map((r) => periodPostingKey(periodId, r.payee_id, r.currency));
        const posted = await postedKeys(em, db.schema, keys);
        const todo = rows.filter((_, i) => !posted.has(keys[i]!));
        // Balances read under row locks: concurrent holds on these wallets wait for this batch.
        const balances = await lockPayeeBalances(
          em,
          db.schema,
          [...new Set(todo.map((r) => r.payee_id))],
          ['payee_available', 'payee_receivable'],
        );
        const bal = new Map(balances.map((b) => [`${b.owner}|${b.kind}|${b.currency}`, b.balance]));
        const postings: PostingInput[] = [];
        const payouts: { payeeId: string; currency: string; amount: bigint; method: string }[] = [];
        const totals: Totals = {};
        let receivable = 0n;
        for (const r of todo) {
          const n = {
            periodId,
            payeeId: r.payee_id,
            currency: r.currency,
            total: BigInt(r.total),
            available: bal.get(`${r.payee_id}|payee_available|${r.currency}`) ?? 0n,
            receivable: bal.get(`${r.payee_id}|payee_receivable|${r.currency}`) ?? 0n,
          };
          const p = periodPosting(n, run);
          if (!p) continue;
          postings.push(p);
          totals[r.currency] = (BigInt(totals[r.currency] ?? '0') + n.total).toString();
          const net = netStatement(n);
          if (net.toReceivable < 0n) receivable += -net.toReceivable;
          if (r.auto_payout && net.toAvailable > 0n) {
            payouts.push({
              payeeId: r.payee_id,
              currency: r.currency,
              amount: net.toAvailable,
              method: METHOD[r.preferred_method ?? 'bank_account'] ?? 'bank_transfer',
            });
          }
        }
        if (postings.length > 0) await ledger.within(em).postBatch(postings);
        if (payouts.length > 0) {
          await sql(
            em,
            `INSERT INTO ${t.payouts} (period_id, payee_id, payout_id, seq, amount, currency)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[])
             ON CONFLICT DO NOTHING`,
            [
              periodId,
              payouts.map((p) => p.payeeId),
              payouts.map((p) => payoutIdFor(`period:${periodId}`, `${p.payeeId}:${p.currency}:${p.method}`)),
              payouts.map((_, i) => batch * settings.batchSize + i),
              payouts.map((p) => p.amount.toString()),
              payouts.map((p) => p.currency),
            ],
          );
        }
        const summary: BatchSummary = {
          batch,
          payees: new Set(rows.map((r) => r.payee_id)).size,
          statements: postings.length,
          totals,
          resumed: false,
          payouts: payouts.length,
          receivable: receivable.toString(),
        };
        await sql(
          em,
          `INSERT INTO ${t.batches} (period_id, stage, run, batch, summary) VALUES ($1, 'post', $2, $3, $4::jsonb)`,
          [periodId, run, batch, JSON.stringify(summary)],
        );
        return summary;
      });
    },

    async markPosted(periodId: string): Promise<void> {
      await sql(
        db.em(),
        `UPDATE ${t.periods} SET status = 'posted', updated_at = now() WHERE id = $1 AND status = 'closed'`,
        [periodId],
      );
    },

    /** Starts the period's next payouts while fewer than `window` of them are in flight (`startPayoutWave`). */
    async startPayouts(
      payouts: PayoutGateway,
      periodId: string,
      window: number,
      heartbeat: () => void,
    ): Promise<PayoutWave> {
      return startPayoutWave({
        db,
        queue: queueOf(periodId),
        window,
        gateway: payouts,
        heartbeat,
        toInputs: async (next) => {
          const methods = new Map(
            (
              await sql<{ id: string; preferred_method: string | null; instant_opt_in: boolean }>(
                db.em(),
                `SELECT id, preferred_method, instant_opt_in FROM ${t.payees} WHERE id = ANY($1::text[])`,
                [next.map((r) => r.payeeId)],
              )
            ).map((r) => [r.id, r]),
          );
          return next.map((r) => {
            const payee = methods.get(r.payeeId);
            return {
              payoutId: r.payoutId,
              payeeId: r.payeeId,
              amount: money(r.amount, r.currency),
              method: METHOD[payee?.preferred_method ?? 'bank_account'] ?? 'bank_transfer',
              instantRequested: payee?.instant_opt_in ?? false,
              requestedBy: { actor: `period:${periodId}`, role: 'platform' },
              periodId,
            };
          });
        },
      });
    },

    /** Counts by payout outcome, stored with the period and announced by webhook (same transaction). */
    async completePeriod(periodId: string, run: number): Promise<CompletionSummary> {
      return db.em().transactional(async (em) => {
        const outcomes = await queueOutcomes(em, db.schema, queueOf(periodId));
        const posted = await sql<{ summary: BatchSummary }>(
          em,
          `SELECT summary FROM ${t.batches} WHERE period_id = $1 AND stage = 'post' AND run = $2`,
          [periodId, run],
        );
        const credited: Totals = {};
        let payees = 0;
        let receivable = 0n;
        for (const { summary } of posted) {
          payees += summary.statements;
          receivable += BigInt(summary.receivable ?? '0');
          for (const [c, v] of Object.entries(summary.totals))
            credited[c] = (BigInt(credited[c] ?? '0') + BigInt(v)).toString();
        }
        const summary: CompletionSummary = {
          periodId,
          run,
          postings: payees,
          totals: credited,
          receivableCarried: receivable.toString(),
          payouts: outcomes,
        };
        await sql(
          em,
          `UPDATE ${t.periods} SET status = 'completed', summary = $2::jsonb, updated_at = now() WHERE id = $1`,
          [periodId, JSON.stringify(summary)],
        );
        await outbox.enqueue(
          {
            id: `period.completed:${periodId}`,
            type: 'period.completed',
            data: { ...summary },
            occurredAt: new Date(),
          },
          em,
        );
        return summary;
      });
    },

    /** Approval reminder or escalation: a webhook event for the platform's notification system. */
    async notifyApprovers(periodId: string, kind: 'reminder' | 'escalation', count: number): Promise<string> {
      const id = `period.approval_${kind}:${periodId}:${count}`;
      await outbox.enqueue({
        id,
        type: `period.approval_${kind}`,
        data: { periodId, count },
        occurredAt: new Date(),
      });
      return id;
    },

    async deliverWebhook(eventId: string): Promise<void> {
      await outbox.deliverWebhook(eventId);
    },

    // ---- reads for the API

    async period(periodId: string) {
      const [row] = await sql<{
        id: string;
        status: string;
        plan_version: string | null;
        run: number;
        summary: unknown;
      }>(db.em(), `SELECT id, status, plan_version, run, summary FROM ${t.periods} WHERE id = $1`, [
        periodId,
      ]);
      return row;
    },

    async statements(periodId: string, run: number, after: string | null, limit: number) {
      return sql<{ payee_id: string; currency: string; total: string; lines: Record<string, unknown> }>(
        db.em(),
        `SELECT payee_id, currency, total::text AS total, lines FROM ${t.statements}
          WHERE period_id = $1 AND run = $2 AND ($3::text IS NULL OR payee_id > $3)
          ORDER BY payee_id, currency LIMIT $4`,
        [periodId, run, after, limit],
      );
    },

    /** Provisional statement of one payee from the events so far (the whole period's tree is evaluated). */
    async provisional(periodId: string, payeeId: string) {
      const period = await this.period(periodId);
      const planVersion = period?.plan_version ?? settings.defaultPlanVersion;
      const activity = await loadActivity(periodId);
      const tree = await sql<{ id: string; sponsor_id: string | null }>(
        db.em(),
        `SELECT id, sponsor_id FROM ${t.payees}`,
      );
      const ctx = buildContext(
        plans.get(planVersion),
        activity,
        tree.map((r) => ({ payeeId: r.id, sponsorId: r.sponsor_id })),
      );
      const events = await sql<{ type: string; currency: string; n: string; amount: string; volume: string }>(
        db.em(),
        `SELECT type, currency, count(*)::text AS n, sum(amount)::text AS amount, sum(volume)::text AS volume
           FROM ${t.events} WHERE period_id = $1 AND payee_id = $2 GROUP BY 1, 2 ORDER BY 1, 2`,
        [periodId, payeeId],
      );
      return {
        planVersion,
        status: period?.status ?? 'open',
        statements: statementsFor(ctx, [payeeId]),
        events,
      };
    },
  };
}
