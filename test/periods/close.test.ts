// End to end: earnings → close → preview → recalculate → approve → credits → auto-payouts → summary,
// on the real stack (HTTP API, worker, time-skipping Temporal, PostgreSQL).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { periodPostingKey } from '../../src/periods/netting.ts';
import { calculatePeriod, type EarningsEvent } from '../../src/plans/index.ts';
import type { CompletionSummary } from '../../workflows/period-contract.ts';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('periods-close', {
    env: { PERIOD_APPROVAL_REMINDER: '24h', PERIOD_APPROVAL_ESCALATION: '72h' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const usd = (amount: string) => ({ amount, currency: 'USD', scale: 2 });

async function tree(ids: string[]) {
  const rows = await sql<{ id: string; sponsor_id: string | null }>(
    stack.db.em(),
    `SELECT id, sponsor_id FROM "${stack.db.schema}".payees WHERE id = ANY($1::text[])`,
    [ids],
  );
  return rows.map((r) => ({ payeeId: r.id, sponsorId: r.sponsor_id }));
}

describe('period close, happy path', () => {
  it('ingests, closes, previews, recalculates, approves, credits once and pays auto-payout payees', async () => {
    const periodId = '2026-03';
    const root = await stack.createPayee({
      payee: { payoutPreferences: { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: true } },
    });
    const a = await stack.createPayee({
      payee: {
        sponsorId: root,
        payoutPreferences: { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: true },
      },
    });
    const b = await stack.createPayee({ payee: { sponsorId: a } });
    const events = [
      {
        externalId: 'e1',
        payeeId: root,
        type: 'sale',
        amount: usd('50000'),
        occurredAt: '2026-03-03T10:00:00Z',
        volume: 300,
      },
      {
        externalId: 'e2',
        payeeId: a,
        type: 'sale',
        amount: usd('120000'),
        occurredAt: '2026-03-04T10:00:00Z',
        category: 'nutrition',
        volume: 700,
      },
      {
        externalId: 'e3',
        payeeId: b,
        type: 'sale',
        amount: usd('80000'),
        occurredAt: '2026-03-05T10:00:00Z',
        volume: 150,
      },
      {
        externalId: 'e4',
        payeeId: b,
        type: 'bonus',
        amount: usd('1500'),
        occurredAt: '2026-03-06T10:00:00Z',
      },
      {
        externalId: 'e5',
        payeeId: a,
        type: 'clawback',
        amount: usd('2000'),
        occurredAt: '2026-03-07T10:00:00Z',
        volume: 20,
      },
    ];
    const ingested = await stack.call('POST', '/v1/earnings', { body: { events } });
    expect(ingested.status).toBe(200);
    expect(ingested.body).toEqual({
      accepted: 5,
      duplicates: 0,
      late: 0,
      periods: [{ periodId, events: 5 }],
    });

    // Replays are no-ops; a replay with different content is refused and writes nothing.
    const replay = await stack.call('POST', '/v1/earnings', { body: { events } });
    expect(replay.body).toMatchObject({ accepted: 0, duplicates: 5 });
    const conflicting = await stack.call('POST', '/v1/earnings', {
      body: {
        events: [
          { ...events[0], amount: usd('50001') },
          { ...events[1], externalId: 'e-new' },
        ],
      },
    });
    expect(conflicting.status).toBe(409);
    expect(conflicting.contentType).toContain('application/problem+json');
    expect(conflicting.body.errors[0].path).toBe('body.events.0');

    // Provisional earnings equal the pure calculation over the same events.
    const plan = stack.services.plans.get('standard-2026.1');
    const pure = calculatePeriod(
      plan,
      events.map(
        (e): EarningsEvent => ({
          payeeId: e.payeeId,
          type: e.type as EarningsEvent['type'],
          amount: BigInt(e.amount.amount),
          currency: 'USD',
          category: e.category ?? 'default',
          volume: e.volume ?? 0,
        }),
      ),
      await tree([root, a, b]),
    );
    const provisional = await stack.call('GET', `/v1/payees/${a}/earnings?period=${periodId}`);
    expect(provisional.status).toBe(200);
    expect(provisional.body.provisional).toBe(true);
    expect(provisional.body.statements[0].total).toBe(pure.find((s) => s.payeeId === a)!.total.toString());

    await stack.closePeriod(periodId);
    const awaiting = await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval');
    expect(awaiting.calculation.batchesDone).toBe(awaiting.calculation.batchesTotal);
    const expectedTotal = pure.reduce((s, x) => s + x.total, 0n);
    expect(awaiting.calculation.totals.USD).toBe(expectedTotal.toString());

    // Events arriving now: refused for the closed period, or booked in the next one when asked.
    const late = {
      externalId: 'late-1',
      payeeId: b,
      type: 'sale',
      amount: usd('1000'),
      occurredAt: '2026-03-20T10:00:00Z',
      volume: 5,
    };
    const refused = await stack.call('POST', '/v1/earnings', { body: { events: [late] } });
    expect(refused.status).toBe(409);
    expect(refused.body.errors[0].message).toContain('next_period');
    const moved = await stack.call('POST', '/v1/earnings', {
      body: { events: [late], lateEvents: 'next_period' },
    });
    expect(moved.body).toMatchObject({ accepted: 1, late: 1, periods: [{ periodId: '2026-04', events: 1 }] });

    // Preview.
    const preview = await stack.call('GET', `/v1/periods/${periodId}/statements`);
    expect(preview.status).toBe(200);
    expect(preview.body.run).toBe(1);
    const byPayee = new Map(
      preview.body.statements.map((s: { payeeId: string; total: string }) => [s.payeeId, s.total]),
    );
    for (const s of pure) expect(byPayee.get(s.payeeId)).toBe(s.total.toString());

    // Recalculate with the corrected plan: a diff summary.
    const recalc = await stack.call('POST', `/v1/periods/${periodId}/recalculate`, {
      key: stack.keys.operator.key,
      body: { planVersion: 'standard-2026.2' },
    });
    expect(recalc.status).toBe(202);
    expect(recalc.body).toMatchObject({ fromRun: 1, toRun: 2 });
    const recalculated = await stack.waitForPeriod(
      periodId,
      (p) => p.stage === 'awaiting_approval' && p.run === 2,
    );
    expect(recalculated.lastDiff).toMatchObject({ fromRun: 1, toRun: 2 });
    expect(recalculated.lastDiff?.changedStatements).toBeGreaterThan(0);
    const again = await stack.call('POST', `/v1/periods/${periodId}/recalculate`, {
      key: stack.keys.operator.key,
      body: { planVersion: 'no-such-plan' },
    });
    expect(again.status).toBe(422);

    // Approval: platform keys cannot approve; an approver can, once.
    const notApprover = await stack.call('POST', `/v1/periods/${periodId}/approve`, {
      body: { totp: '000000' },
    });
    expect(notApprover.status).toBe(403);
    await stack.approvePeriod(periodId, 'alice-period', { reason: 'checked' });

    const summary = (await stack.periodGateway.handle(periodId).result()) as CompletionSummary;
    expect(summary.run).toBe(2);
    expect(summary.payouts.paid).toBe(2); // root and a are on auto-payout
    expect(summary.payouts.not_started ?? 0).toBe(0);

    // One ledger transaction per payee; posting again is impossible (same business key).
    for (const id of [root, a, b]) {
      const tx = await stack.services.ledger.getTransaction(periodPostingKey(periodId, id, 'USD'));
      expect(tx).not.toBeNull();
    }
    const [count] = await sql<{ n: string }>(
      stack.db.em(),
      `SELECT count(*)::text AS n FROM "${stack.db.schema}".ledger_transactions WHERE idempotency_key LIKE $1`,
      [`period:${periodId}:%`],
    );
    expect(count?.n).toBe('3');
    // b is not on auto-payout: the credit stays in the wallet.
    const [bBalance] = await stack.services.ledger.balances(b);
    const bStatement = await stack.call('GET', `/v1/periods/${periodId}/statements`);
    const bTotal = bStatement.body.statements.find((s: { payeeId: string }) => s.payeeId === b).total;
    expect(bBalance?.available.amount).toBe(bTotal);
    const outbox = await stack.services.outbox.get(`period.completed:${periodId}`);
    expect(outbox).toBeDefined();
    await stack.assertInvariants();
  }, 180_000);
});

describe('clawback netting across periods', () => {
  async function closeAndApprove(periodId: string, approverName: string) {
    await stack.closePeriod(periodId);
    await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval');
    await stack.approvePeriod(periodId, approverName);
    return (await stack.periodGateway.handle(periodId).result()) as CompletionSummary;
  }

  it('carries a clawback beyond the balance as a receivable and nets it against the next period', async () => {
    const payee = await stack.createPayee();
    const event = (id: string, type: string, amount: string, day: string) => ({
      externalId: id,
      payeeId: payee,
      type,
      amount: usd(amount),
      occurredAt: `${day}T10:00:00Z`,
      volume: 0,
    });
    // Period 1: a 30.00 commission. Period 2: a 100.00 clawback. Period 3: a 120.00 commission.
    await stack.call('POST', '/v1/earnings', {
      body: {
        events: [
          event('n-1', 'commission', '3000', '2026-05-02'),
          event('n-2', 'clawback', '10000', '2026-06-02'),
          event('n-3', 'commission', '12000', '2026-07-02'),
        ],
      },
    });
    await closeAndApprove('2026-05', 'ann-netting');
    let [b] = await stack.services.ledger.balances(payee);
    expect([b?.available.amount, b?.receivable.amount]).toEqual(['3000', '0']);

    const second = await closeAndApprove('2026-06', 'ben-netting');
    expect(second.receivableCarried).toBe('7000');
    [b] = await stack.services.ledger.balances(payee);
    expect([b?.available.amount, b?.receivable.amount]).toEqual(['0', '-7000']); // never a negative wallet

    await closeAndApprove('2026-07', 'cat-netting');
    [b] = await stack.services.ledger.balances(payee);
    expect([b?.available.amount, b?.receivable.amount]).toEqual(['5000', '0']); // 120.00 − 70.00 owed
    await stack.assertInvariants();
  }, 180_000);
});

describe('a payout its provider never confirms', () => {
  it('does not keep the period from completing (it is counted as awaiting confirmation)', async () => {
    const prefs = { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: true };
    // Destination ending 0009: the sandbox answers pending and never confirms (until the 24 h deadline).
    const pending = await stack.createPayee({
      payee: { payoutPreferences: prefs },
      bankAccount: { accountNumber: '7700000009' },
    });
    const paid = await stack.createPayee({ payee: { payoutPreferences: prefs } });
    const events = [pending, paid].map((payeeId, i) => ({
      externalId: `never-${i}`,
      payeeId,
      type: 'commission',
      amount: usd('4000'),
      occurredAt: '2026-08-03T10:00:00Z',
      volume: 0,
    }));
    expect((await stack.call('POST', '/v1/earnings', { body: { events } })).status).toBe(200);
    await stack.closePeriod('2026-08');
    await stack.waitForPeriod('2026-08', (p) => p.stage === 'awaiting_approval');
    await stack.approvePeriod('2026-08', 'dan-never');
    const summary = (await stack.periodGateway.handle('2026-08').result()) as CompletionSummary;
    expect(summary.payouts).toEqual({ paid: 1, awaiting_confirmation: 1 });
    await stack.assertInvariants();
  }, 180_000);
});
