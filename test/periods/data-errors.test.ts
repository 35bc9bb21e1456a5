// Issue 14, "no input can wedge a workflow", for the period close: a step that fails for a data reason
// (here a real PostgreSQL bigint overflow, from rows injected into the period's data) stops the close
// visibly instead of retrying forever. Before approval the period is reopened for corrections; after
// approval it waits in review; either way GET /v1/periods/:id names the step, the batch and the SQLSTATE, a
// period.data_error webhook is recorded, and closing the period again (after fixing the data) goes on.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { webhookEnvelope } from '../../src/api/webhook-events.ts';
import { sql } from '../../src/db/sql.ts';
import { webhookBody } from '../../src/webhooks/index.ts';
import type { CompletionSummary, PeriodProblem } from '../../workflows/period-contract.ts';
import { eventually, type Stack, startStack } from '../support/stack.ts';

const BIGINT_MAX = 9223372036854775807n;
/** Eleven payees and batches of ten: two batches, the second with one payee. */
const PAYEES = 11;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('periods-data-errors', {
    env: { PERIOD_BATCH_SIZE: '10', PERIOD_APPROVAL_REMINDER: '24h', PERIOD_APPROVAL_ESCALATION: '72h' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const usd = (amount: string) => ({ amount, currency: 'USD', scale: 2 });

/** Payees with one sale each in the period (the first `commissions` of them also get a commission event). */
async function periodWithSales(periodId: string, day: string) {
  const payees: string[] = [];
  for (let i = 0; i < PAYEES; i++) payees.push(await stack.createPayee());
  const events = payees.flatMap((payeeId, i) => [
    {
      externalId: `${periodId}-sale-${i}`,
      payeeId,
      type: 'sale',
      amount: usd(String(10_000 + i)),
      occurredAt: `${day}T10:00:00Z`,
      volume: 100,
    },
    {
      externalId: `${periodId}-commission-${i}`,
      payeeId,
      type: 'commission',
      amount: usd('700'),
      occurredAt: `${day}T11:00:00Z`,
    },
  ]);
  const ingested = stack.expectStatus(
    await stack.call('POST', '/v1/earnings', { body: { events } }),
    200,
    'ingest',
  );
  expect(ingested.body.accepted).toBe(events.length);
  return payees;
}

async function periodStatus(periodId: string) {
  const [row] = await sql<{ status: string }>(
    stack.db.em(),
    `SELECT status FROM "${stack.db.schema}".periods WHERE id = $1`,
    [periodId],
  );
  return row?.status;
}

async function committedBatches(periodId: string, stage: 'calculate' | 'post', run: number) {
  const rows = await sql<{ batch: number }>(
    stack.db.em(),
    `SELECT batch FROM "${stack.db.schema}".period_batches
      WHERE period_id = $1 AND stage = $2 AND run = $3 AND batch >= 0 ORDER BY batch`,
    [periodId, stage, run],
  );
  return rows.map((r) => r.batch);
}

/** The period.data_error event: recorded once per problem, its body valid against the documented schema. */
async function expectDataErrorWebhook(periodId: string, seq: number, problem: PeriodProblem) {
  const read = () =>
    sql<{ type: string; payload: Record<string, unknown>; occurred_at: Date }>(
      stack.db.em(),
      `SELECT type, payload, occurred_at FROM "${stack.db.schema}".webhook_outbox WHERE id = $1`,
      [`period.data_error:${periodId}:${seq}`],
    );
  const [row] = await eventually('period.data_error event', read, (rows) => rows.length === 1);
  expect(row?.type).toBe('period.data_error');
  expect(row?.payload).toEqual({ periodId, problem: { ...problem, retried: undefined } });
  const body = JSON.parse(
    webhookBody({ type: row!.type, occurredAt: new Date(row!.occurred_at), data: row!.payload }),
  );
  expect(webhookEnvelope('period.data_error').safeParse(body).success).toBe(true);
}

/** Nothing is being retried: once its webhook is out, the workflow waits for a person, no activity pending. */
async function expectNoRetryLoop(periodId: string, stage: string) {
  const described = await eventually(
    `period ${periodId} activities`,
    () => stack.periodGateway.handle(periodId).describe(),
    (d) => (d.raw.pendingActivities ?? []).length === 0,
  );
  expect(described.status.name).toBe('RUNNING');
  expect((await stack.periodProgress(periodId)).stage).toBe(stage);
}

describe('period close: data errors stop the close visibly', () => {
  it('before approval: the failing batch reopens the period for corrections; closing again recalculates', async () => {
    const periodId = '2026-04';
    const payees = await periodWithSales(periodId, '2026-04-10');
    // Injected data: one payee's two commissions sum past bigint, so its statement total cannot be stored.
    const poisoned = payees[4]!;
    await sql(
      stack.db.em(),
      `UPDATE "${stack.db.schema}".earnings_events SET amount = $2
        WHERE period_id = $1 AND payee_id = $3 AND type = 'commission'`,
      [periodId, (BIGINT_MAX / 2n + 1n).toString(), poisoned],
    );
    await sql(
      stack.db.em(),
      `INSERT INTO "${stack.db.schema}".earnings_events
         (external_id, period_id, payee_id, type, amount, currency, category, volume, occurred_at, content_hash)
       SELECT external_id || '-twin', period_id, payee_id, 'commission', amount, currency, category, 0,
              occurred_at, content_hash
         FROM "${stack.db.schema}".earnings_events WHERE period_id = $1 AND payee_id = $2 AND type = 'commission'`,
      [periodId, poisoned],
    );

    const closed = await stack.closePeriod(periodId);
    expect(closed.body.workflow).toBe('started');
    const stopped = await stack.waitForPeriod(periodId, (p) => (p.problems?.length ?? 0) > 0);
    expect(stopped.stage).toBe('open_for_corrections');
    await eventually(
      'reopened',
      () => periodStatus(periodId),
      (s) => s === 'reopened',
    );
    const problem = stopped.problems![0]!;
    expect(problem).toMatchObject({
      code: 'data_error',
      stage: 'calculating',
      step: 'calculateBatch',
      run: 1,
      sqlState: '22003',
      outcome: 'reopened',
    });
    expect(problem.message).toMatch(/out of range/);
    expect(problem.retried).toBeUndefined();
    // The batch it names is the one that holds the poisoned payee: it never committed.
    expect([0, 1]).toContain(problem.batch);
    expect(await committedBatches(periodId, 'calculate', 1)).not.toContain(problem.batch);
    await expectDataErrorWebhook(periodId, 1, problem);
    await expectNoRetryLoop(periodId, 'open_for_corrections');
    // Approving is refused: the period is open for corrections, not awaiting approval.
    const alice = await stack.approver('alice-data-errors');
    const approve = await stack.call('POST', `/v1/periods/${periodId}/approve`, {
      key: alice.key,
      body: { totp: alice.code() },
    });
    expect(approve.status).toBe(409);

    // The operator corrects the data and closes the period again: a new run calculates every payee.
    await sql(
      stack.db.em(),
      `DELETE FROM "${stack.db.schema}".earnings_events WHERE period_id = $1 AND external_id LIKE '%-twin'`,
      [periodId],
    );
    await sql(
      stack.db.em(),
      `UPDATE "${stack.db.schema}".earnings_events SET amount = 700 WHERE period_id = $1 AND payee_id = $2
          AND type = 'commission'`,
      [periodId, poisoned],
    );
    const reclosed = await stack.closePeriod(periodId, { key: stack.keys.operator.key });
    expect(reclosed.body.workflow).toBe('resubmitted');
    const second = await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval' && p.run === 2);
    expect(second.calculation.payees).toBe(PAYEES);
    expect(second.problems).toHaveLength(1);
    expect(second.problems![0]!.retried?.by).toBe(stack.keys.operator.actor);
    expect(await committedBatches(periodId, 'calculate', 2)).toEqual([0, 1]);
  }, 180_000);

  it('after approval: a failing posting batch parks the period in review; closing again resumes it', async () => {
    const periodId = '2026-05';
    await periodWithSales(periodId, '2026-05-12');
    await stack.closePeriod(periodId);
    const calculated = await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval');
    expect(calculated.approvalsRequired).toBe(1);

    // Injected data: one statement of batch 0 (ten payees) at bigint's maximum; posting the batch debits
    // platform funding past bigint's minimum, which PostgreSQL refuses (22003).
    const [target] = await sql<{ payee_id: string; total: string }>(
      stack.db.em(),
      `SELECT payee_id, total::text FROM "${stack.db.schema}".period_statements
        WHERE period_id = $1 AND run = 1 AND batch = 0 ORDER BY payee_id LIMIT 1`,
      [periodId],
    );
    const setTotal = (total: string) =>
      sql(
        stack.db.em(),
        `UPDATE "${stack.db.schema}".period_statements SET total = $3
          WHERE period_id = $1 AND run = 1 AND payee_id = $2`,
        [periodId, target!.payee_id, total],
      );
    await setTotal(BIGINT_MAX.toString());

    await stack.approvePeriod(periodId, 'carol-data-errors');
    const stopped = await stack.waitForPeriod(periodId, (p) => p.stage === 'review');
    const problem = stopped.problems![0]!;
    expect(problem).toMatchObject({
      code: 'data_error',
      stage: 'posting',
      step: 'postBatch',
      batch: 0,
      run: 1,
      sqlState: '22003',
      outcome: 'review',
    });
    expect(await periodStatus(periodId)).toBe('closed'); // not posted, not reopened
    await expectDataErrorWebhook(periodId, 1, problem);
    // Batch 1 (posted in parallel) commits; batch 0 does not, and nothing of it is in the ledger.
    await eventually(
      'batch 1 posted',
      () => committedBatches(periodId, 'post', 1),
      (b) => b.includes(1),
    );
    expect(await committedBatches(periodId, 'post', 1)).toEqual([1]);
    await expectNoRetryLoop(periodId, 'review');
    // The approved run cannot be recalculated in review, nor resumed with another plan.
    const olga = { actor: stack.keys.operator.actor, role: 'operator' as const };
    await expect(stack.periodGateway.recalculate(periodId, olga, calculated.planVersion)).rejects.toThrow(
      /recalculation is possible only before approval/,
    );
    const otherPlan = await stack.call('POST', `/v1/periods/${periodId}/close`, {
      key: stack.keys.operator.key,
      body: { planVersion: 'standard-2026.2' },
    });
    expect(otherPlan.status).toBe(409);
    expect(otherPlan.body.detail).toMatch(/resumes that run/);

    // The operator fixes the statement and closes the period again: posting resumes where it stopped.
    await setTotal(target!.total);
    const resumed = await stack.closePeriod(periodId, { key: stack.keys.operator.key });
    expect(resumed.body.workflow).toBe('resubmitted');
    const summary = (await stack.periodGateway.handle(periodId).result()) as CompletionSummary;
    expect(summary).toMatchObject({ periodId, run: 1, postings: PAYEES });
    expect(summary.totals.USD).toBe(calculated.calculation.totals.USD);
    const done = await stack.periodProgress(periodId);
    expect(done.stage).toBe('completed');
    expect(done.posting.resumedBatches).toBe(1);
    expect(done.problems![0]!.retried?.by).toBe(stack.keys.operator.actor);
    const [credit] = await stack.services.ledger.balances(target!.payee_id);
    expect(credit?.available.amount).toBe(target!.total);
    await stack.assertInvariants();
  }, 180_000);
});

// The same for a step that fails outside the database: a domain error no retry fixes (activities/
// data-errors.ts) stops the close with the error's code instead of retrying the step forever.
describe('period close: deterministic domain errors stop the close visibly', () => {
  it('before approval: a plan version no longer loaded reopens the period; closing again with a loaded plan recalculates', async () => {
    const periodId = '2026-06';
    await periodWithSales(periodId, '2026-06-10');
    // Injected data: the period was closed by an earlier deployment with a plan whose file has since been
    // removed (config/plans), so its calculation can never find the plan.
    await sql(
      stack.db.em(),
      `UPDATE "${stack.db.schema}".periods SET status = 'closed', plan_version = 'retired-2025.1',
              closed_at = now() WHERE id = $1`,
      [periodId],
    );

    await stack.closePeriod(periodId);
    const stopped = await stack.waitForPeriod(periodId, (p) => (p.problems?.length ?? 0) > 0);
    expect(stopped.stage).toBe('open_for_corrections');
    const problem = stopped.problems![0]!;
    expect(problem).toMatchObject({
      code: 'data_error',
      stage: 'calculating',
      step: 'prepareRun',
      run: 1,
      errorCode: 'plan_not_found',
      outcome: 'reopened',
    });
    expect(problem.message).toMatch(/"retired-2025\.1" is not loaded/);
    expect(problem.sqlState).toBeUndefined();
    expect(problem.batch).toBeUndefined();
    await eventually(
      'reopened',
      () => periodStatus(periodId),
      (s) => s === 'reopened',
    );
    await expectDataErrorWebhook(periodId, 1, problem);
    await expectNoRetryLoop(periodId, 'open_for_corrections');

    // The operator closes it again with a plan that is loaded: a new run calculates every payee with it.
    const reclosed = await stack.closePeriod(periodId, {
      key: stack.keys.operator.key,
      body: { planVersion: 'standard-2026.1' },
    });
    expect(reclosed.body.workflow).toBe('resubmitted');
    const second = await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval' && p.run === 2);
    expect(second.planVersion).toBe('standard-2026.1');
    expect(second.calculation.payees).toBe(PAYEES);
    expect(second.problems![0]!.retried?.by).toBe(stack.keys.operator.actor);
  }, 180_000);

  it('after approval: a statement in a currency no longer configured parks the period in review; closing again resumes it', async () => {
    const periodId = '2026-07';
    const payees = await periodWithSales(periodId, '2026-07-08');
    // Injected data: one commission in an asset taken out of DISBURSE_ASSETS after it was ingested. It is
    // calculated like any amount, but no ledger entry can be made in an unknown currency.
    const odd = payees[3]!;
    await sql(
      stack.db.em(),
      `INSERT INTO "${stack.db.schema}".earnings_events
         (external_id, period_id, payee_id, type, amount, currency, category, volume, occurred_at, content_hash)
       SELECT external_id || '-zzz', period_id, payee_id, 'commission', amount, 'ZZZ', category, 0,
              occurred_at, content_hash
         FROM "${stack.db.schema}".earnings_events WHERE period_id = $1 AND payee_id = $2 AND type = 'commission'`,
      [periodId, odd],
    );
    await stack.closePeriod(periodId);
    const calculated = await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval');
    expect(calculated.calculation.totals.ZZZ).toBe('700');

    await stack.approvePeriod(periodId, 'dave-data-errors');
    const stopped = await stack.waitForPeriod(periodId, (p) => p.stage === 'review');
    const problem = stopped.problems![0]!;
    expect(problem).toMatchObject({
      code: 'data_error',
      stage: 'posting',
      step: 'postBatch',
      run: 1,
      errorCode: 'money_invalid',
      outcome: 'review',
    });
    expect(problem.message).toMatch(/ZZZ/);
    expect(problem.sqlState).toBeUndefined();
    expect([0, 1]).toContain(problem.batch);
    expect(await periodStatus(periodId)).toBe('closed');
    await expectDataErrorWebhook(periodId, 1, problem);
    await expectNoRetryLoop(periodId, 'review');
    expect(await committedBatches(periodId, 'post', 1)).not.toContain(problem.batch);

    // The operator removes the statement in the unknown currency and closes again: posting resumes.
    await sql(
      stack.db.em(),
      `DELETE FROM "${stack.db.schema}".period_statements WHERE period_id = $1 AND run = 1 AND currency = 'ZZZ'`,
      [periodId],
    );
    const resumed = await stack.closePeriod(periodId, { key: stack.keys.operator.key });
    expect(resumed.body.workflow).toBe('resubmitted');
    const summary = (await stack.periodGateway.handle(periodId).result()) as CompletionSummary;
    expect(summary).toMatchObject({ periodId, run: 1, postings: PAYEES });
    expect(Object.keys(summary.totals)).toEqual(['USD']);
    expect((await stack.periodProgress(periodId)).stage).toBe('completed');
    await stack.assertInvariants();
  }, 180_000);
});
