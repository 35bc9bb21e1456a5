// Period close, as the workflow's activities see it: every step is idempotent and keyed by period, run and
// batch, so a retried or resumed activity finds committed work and returns its recorded summary.

import type {
  BatchSummary,
  CompletionSummary,
  DiffSummary,
  PeriodPayoutWave,
  PeriodProblem,
  RunSummary,
} from '../../workflows/period-contract.ts';
import type { PeriodsConfig } from '../config/periods.ts';
import type { Database } from '../db/open.ts';
import { sqlState } from '../db/sql.ts';
import { type Ledger, lockPayeeBalances, type PostingInput, postedKeys } from '../ledger/index.ts';
import { money } from '../money/index.ts';
import { type PayoutGateway, payoutIdFor } from '../payouts/gateway.ts';
import type { PayoutInput } from '../payouts/state.ts';
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
import { type ActivityRow, createPeriodStore } from './store.ts';

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

/** How often a waiting `startPayouts` looks for freed slots (one count query over the period's queue). */
const WAVE_POLL_MS = 250;

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
  const store = createPeriodStore(db.schema);

  // One calculation context per (period, run): built once per worker process from the frozen inputs.
  let cached: { key: string; ctx: CalculationContext } | undefined;

  // Large reads are paged by payee id (keyset) so no single result set holds a whole period.
  const PAGE = 2_000;

  async function loadActivity(periodId: string): Promise<PayeeActivity[]> {
    const rows: ActivityRow[] = [];
    for (let after = ''; ; ) {
      const page = await store.activityPage(db.em(), periodId, after, PAGE);
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
    const period = await store.period(db.em(), periodId);
    if (!period) throw new PeriodStateError(`period ${periodId} does not exist`);
    const planVersion = (await store.runPlan(db.em(), periodId, run)) ?? period.plan_version;
    if (planVersion === null)
      throw new PeriodStateError(`period ${periodId} has no plan version: close it first`);
    const activity = await loadActivity(periodId);
    heartbeat();
    const tree: { payee_id: string; sponsor_id: string | null }[] = [];
    for (let after = ''; ; ) {
      const page = await store.treePage(db.em(), periodId, run, after, PAGE * 5);
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

  function addTotals(into: Totals, statements: readonly Statement[]) {
    for (const s of statements) into[s.currency] = (BigInt(into[s.currency] ?? '0') + s.total).toString();
  }

  return {
    settings,

    /** Closes the period to new events (idempotent). Returns the plan version it will be calculated with. */
    async close(periodId: string, planVersion: string | undefined): Promise<{ planVersion: string }> {
      const version = planVersion ?? settings.defaultPlanVersion;
      plans.get(version); // fail early on an unknown version
      return { planVersion: (await store.close(db.em(), periodId, version)) ?? version };
    },

    /** Rejected by an approver: the period takes events again until it is closed anew. */
    async reopen(periodId: string): Promise<void> {
      await store.setStatus(db.em(), periodId, 'closed', 'reopened');
    },

    /** Freezes the sponsor tree for a run and says how many batches the calculation has. */
    async prepareRun(
      periodId: string,
      run: number,
      planVersion: string,
    ): Promise<{ batches: number; payees: number }> {
      plans.get(planVersion);
      await db.em().transactional(async (em) => {
        if (!(await store.claimBatch(em, periodId, 'calculate', run, -1, { planVersion }))) return;
        await store.freezeTree(em, periodId, run);
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
      const done = await store.batch(db.em(), periodId, 'calculate', run, batch);
      if (done) return { ...done, resumed: true };
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
        if (!(await store.claimBatch(em, periodId, 'calculate', run, batch, summary))) return; // a concurrent attempt committed it first
        await store.insertStatements(
          em,
          periodId,
          run,
          batch,
          statements.map((s) => ({
            payeeId: s.payeeId,
            currency: s.currency,
            total: s.total,
            lines: {
              personalVolume: s.personalVolume,
              groupVolume: s.groupVolume,
              rank: s.rank,
              commission: s.commission.toString(),
              overrides: s.overrides.toString(),
              bonus: s.bonus.toString(),
              adjustments: s.adjustments.toString(),
            },
          })),
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
      await store.setRun(db.em(), periodId, run, planVersion);
      const { totals, payees, statements } = await store.runTotals(db.em(), periodId, run);
      const dual = Object.entries(totals).some(([c, v]) => {
        const limit = settings.dualControlThreshold[c];
        return limit !== undefined && BigInt(v) > BigInt(limit);
      });
      let diff: DiffSummary | undefined;
      if (previousRun !== null) {
        const d = await store.runDiff(db.em(), periodId, previousRun, run);
        const before = await store.runTotals(db.em(), periodId, previousRun);
        const currencies = [...new Set([...Object.keys(before.totals), ...Object.keys(totals)])].sort();
        diff = {
          fromRun: previousRun,
          toRun: run,
          changedStatements: d.changed,
          addedStatements: d.added,
          removedStatements: d.removed,
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
      const done = await store.batch(db.em(), periodId, 'post', run, batch);
      if (done) return { ...done, resumed: true };
      const attempt = db.em().transactional(async (em) => {
        const rows = await store.batchStatements(em, periodId, run, batch);
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
        await store.queuePayouts(
          em,
          periodId,
          payouts.map((p, i) => ({
            payeeId: p.payeeId,
            payoutId: payoutIdFor(`period:${periodId}`, `${p.payeeId}:${p.currency}:${p.method}`),
            seq: batch * settings.batchSize + i,
            amount: p.amount,
            currency: p.currency,
          })),
        );
        const summary: BatchSummary = {
          batch,
          payees: new Set(rows.map((r) => r.payee_id)).size,
          statements: postings.length,
          totals,
          resumed: false,
          payouts: payouts.length,
          receivable: receivable.toString(),
        };
        await store.insertBatch(em, periodId, 'post', run, batch, summary);
        return summary;
      });
      // A concurrent attempt committed the batch first (its marker broke the unique key): that attempt's
      // summary stands. Not a data error, so answered here before the activity would classify it as one.
      return attempt.catch(async (error: unknown) => {
        const committed =
          sqlState(error) === '23505' ? await store.batch(db.em(), periodId, 'post', run, batch) : undefined;
        if (committed) return { ...committed, resumed: true };
        throw error;
      });
    },

    async markPosted(periodId: string): Promise<void> {
      await store.setStatus(db.em(), periodId, 'closed', 'posted');
    },

    /**
     * Starts the period's next payouts while fewer than `window` of them are in flight (`startPayoutWave`),
     * and, given `wait`, keeps doing so for up to `wait.forMs` (a wave every `WAVE_POLL_MS`) or until none
     * is waiting or in flight, or half a window has been started: the workflow then records one activity per
     * interval, not one per wave, and a slot freed by a finished payout is filled within a poll instead of
     * after the workflow's next timer.
     */
    async startPayouts(
      payouts: PayoutGateway,
      periodId: string,
      window: number,
      heartbeat: () => void,
      wait?: { forMs: number; pause: (ms: number) => Promise<void> },
    ): Promise<PeriodPayoutWave> {
      const deadline = Date.now() + (wait?.forMs ?? 0);
      let started = 0;
      for (;;) {
        const wave = await startPayoutWave({
          db,
          queue: queueOf(periodId),
          window,
          gateway: payouts,
          heartbeat,
          toInputs: async (next) => {
            const methods = await store.payoutPreferences(
              db.em(),
              next.map((r) => r.payeeId),
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
        started += wave.started;
        const left = deadline - Date.now();
        // Answer early when the progress counters have moved a lot (the first fill of the window, half a
        // window since the call began, the last waiting payout started), so the progress bar does not lag a
        // whole interval behind; a steady trickle of refills waits for the interval.
        const moved = wave.started > 0 && (wave.waiting === 0 || started >= Math.ceil(window / 2));
        if (!wait || (wave.waiting === 0 && wave.inFlight === 0) || left <= 0 || moved)
          return { ...wave, started, ...(wait ? { waited: true } : {}) };
        heartbeat();
        await wait.pause(Math.min(WAVE_POLL_MS, left));
      }
    },

    /** Counts by payout outcome, stored with the period and announced by webhook (same transaction). */
    async completePeriod(periodId: string, run: number): Promise<CompletionSummary> {
      return db.em().transactional(async (em) => {
        const outcomes = await queueOutcomes(em, db.schema, queueOf(periodId));
        const posted = await store.postedSummaries(em, periodId, run);
        const credited: Totals = {};
        let payees = 0;
        let receivable = 0n;
        for (const summary of posted) {
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
        await store.complete(em, periodId, summary);
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

    /** A data error stopped the close: a webhook event for operators, one per problem (`seq`). */
    async reportProblem(periodId: string, seq: number, problem: PeriodProblem): Promise<string> {
      const id = `period.data_error:${periodId}:${seq}`;
      await outbox.enqueue({
        id,
        type: 'period.data_error',
        data: { periodId, problem },
        occurredAt: new Date(problem.at),
      });
      return id;
    },

    async deliverWebhook(eventId: string): Promise<void> {
      await outbox.deliverWebhook(eventId);
    },

    // ---- reads for the API

    async period(periodId: string) {
      return store.period(db.em(), periodId);
    },

    /** Ids of the periods closed and not yet posted (waiting for calculation or approval), in id order. */
    async closedPeriodIds(limit: number): Promise<string[]> {
      return store.closedPeriodIds(db.em(), limit);
    },

    async statements(periodId: string, run: number, after: string | null, limit: number) {
      return store.statements(db.em(), periodId, run, after, limit);
    },

    /** Provisional statement of one payee from the events so far (the whole period's tree is evaluated). */
    async provisional(periodId: string, payeeId: string) {
      const period = await this.period(periodId);
      const planVersion = period?.plan_version ?? settings.defaultPlanVersion;
      const activity = await loadActivity(periodId);
      const tree = await store.liveTree(db.em());
      const ctx = buildContext(
        plans.get(planVersion),
        activity,
        tree.map((r) => ({ payeeId: r.id, sponsorId: r.sponsor_id })),
      );
      const events = await store.payeeEvents(db.em(), periodId, payeeId);
      return {
        planVersion,
        status: period?.status ?? 'open',
        statements: statementsFor(ctx, [payeeId]),
        events,
      };
    },
  };
}
