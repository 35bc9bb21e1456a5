// Periods that close on their calendar: five weeks of weekly periods (New York time, 6 h grace window)
// under time skipping on temporal-dev, through the `period-close` Temporal Schedule. Each period is closed
// exactly once: by the schedule, or by a manual close that came first; a paused schedule closes nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowFailedError } from '@temporalio/client';
import { sql } from '../../src/db/sql.ts';
import { nextPeriodId, periodIdFor } from '../../src/periods/calendar.ts';
import { closingPeriodAt, periodCloseSpec, SCHEDULE_ACTOR } from '../../src/periods/schedule.ts';
import { periodWorkflowId } from '../../workflows/period-contract.ts';
import {
  PERIOD_CLOSE_SCHEDULE_ID,
  PERIOD_CLOSE_WORKFLOW_ID,
  type ScheduledCloseInput,
} from '../../workflows/period-schedule-contract.ts';
import { eventually, type Stack, startStack } from '../support/stack.ts';

const HOUR = 3_600_000;
const calendar = { kind: 'weekly' as const, timezone: 'America/New_York' };
const graceMs = 6 * HOUR;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('periods-schedule', {
    env: { PERIOD_CALENDAR: 'weekly', PERIOD_TIMEZONE: calendar.timezone, PERIOD_CLOSE_GRACE: '6h' },
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

/** Sleeps (virtual time) until `at` plus a minute. */
async function sleepPast(at: string): Promise<void> {
  const ms = Date.parse(at) + 60_000 - (await stack.temporal.currentTimeMs());
  if (ms > 0) await stack.temporal.sleep(ms);
}

async function workflowsOf(periodId: string) {
  const out = [];
  for await (const w of stack.temporal.client.workflow.list({
    query: `WorkflowId = "${periodWorkflowId(periodId)}"`,
  }))
    out.push(w);
  return out;
}

/** The scheduled closes' workflows, once `n` of them have completed (bounded wait). */
async function closesWhenDone(n: number) {
  const list = async () => {
    const rows = [];
    for await (const w of stack.temporal.client.workflow.list({
      query: `TemporalScheduledById = "${PERIOD_CLOSE_SCHEDULE_ID}"`,
    }))
      rows.push(w);
    return rows;
  };
  const done = (rows: Awaited<ReturnType<typeof list>>) =>
    rows.filter((w) => w.status.name === 'COMPLETED').length >= n;
  return eventually(`${n} scheduled closes completed`, list, done, 30_000);
}

async function statusOf(periodId: string): Promise<string | undefined> {
  const [row] = await sql<{ status: string }>(
    stack.db.em(),
    `SELECT status FROM "${stack.db.schema}".periods WHERE id = $1`,
    [periodId],
  );
  return row?.status;
}

describe('the period-close schedule', () => {
  it('fires on Monday 06:00 New York time, naming the week that ended', () => {
    expect(periodCloseSpec(calendar, graceMs)).toEqual({
      calendars: [{ hour: 6, minute: 0, second: 0, dayOfWeek: 'MONDAY' }],
      timezone: 'America/New_York',
    });
    // 2026-11-02 is the Monday after the autumn change: 06:00 EST is 11:00Z; the week before is W44.
    expect(closingPeriodAt(new Date('2026-11-02T11:00:00Z'), calendar, graceMs)).toBe('2026-W44');
    expect(periodCloseSpec({ kind: 'monthly', timezone: 'UTC' }, 2 * 24 * HOUR + 30 * 60_000)).toEqual({
      calendars: [{ hour: 0, minute: 30, second: 0, dayOfMonth: 3 }],
      timezone: 'UTC',
    });
    expect(() => periodCloseSpec(calendar, 7 * 24 * HOUR)).toThrow(/shorter than a weekly period/);
  });

  it('closes a month of weekly periods once each, after a manual close and across a pause', async () => {
    // Before a worker has created it, the API says so.
    expect((await stack.call('GET', '/v1/periods/schedule')).status).toBe(404);
    const schedule = stack.periodSchedule;
    expect(await schedule.ensure()).toBe('created');
    expect(await schedule.ensure()).toBe('updated'); // every worker start brings it in line
    const view = (await schedule.describe())!;
    expect((await stack.call('GET', '/v1/periods/schedule')).body).toEqual(view);
    expect(view.paused).toBe(false);
    const closes = view.nextCloses.slice(0, 5);
    // Consecutive weeks, the first being the current one (or the last one before Monday 06:00).
    const ids = closes.map((c) => c.periodId);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBe(nextPeriodId(ids[i - 1]!));
    const current = periodIdFor(new Date(await stack.temporal.currentTimeMs()), calendar);
    expect(current === ids[0] || current === nextPeriodId(ids[0]!)).toBe(true);
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: calendar.timezone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    for (const c of closes) expect(local.format(new Date(c.at))).toBe('Mon 06:00');
    const [p1, p2, p3, p4, p5] = closes.map((c) => c.periodId) as [string, string, string, string, string];

    // The first week closes on schedule.
    await sleepPast(closes[0]!.at);
    // A finance user closes the second week by hand before its scheduled close.
    expect(
      await stack.periodGateway.close(p2, { actor: 'fiona', role: 'platform' }, stack.services.periods),
    ).toBe('started');
    await sleepPast(closes[1]!.at);

    // Paused over the third close: that week stays open (closed by hand later, as the note says).
    const paused = await stack.call('POST', '/v1/periods/schedule/pause', {
      key: stack.keys.operator.key,
      body: { note: 'year-end data correction' },
    });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, note: 'year-end data correction (paused by olga)' });
    await sleepPast(closes[2]!.at);
    expect(await workflowsOf(p3)).toHaveLength(0);
    expect(await statusOf(p3)).not.toBe('closed');
    const resumed = await stack.call('POST', '/v1/periods/schedule/unpause', {
      key: stack.keys.operator.key,
      body: { note: 'correction done' },
    });
    expect(resumed.body).toMatchObject({ paused: false });
    await sleepPast(closes[4]!.at);

    // The last close's workflow may still be finishing its activity (real time; virtual time is locked now).
    const scheduled = await closesWhenDone(4);
    expect(scheduled.map((w) => w.status.name)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
    for (const p of [p1, p2, p4, p5]) {
      expect(await workflowsOf(p)).toHaveLength(1);
      expect(await statusOf(p)).toBe('closed');
    }
    expect((await stack.periodGateway.progress(p1))?.closedBy).toBe(SCHEDULE_ACTOR.actor);
    expect((await stack.periodGateway.progress(p2))?.closedBy).toBe('fiona');
    expect((await stack.periodGateway.progress(p5))?.closedBy).toBe(SCHEDULE_ACTOR.actor);

    // What operators see: the closes taken (the manual one found its period closing), none for p3.
    const after = (await schedule.describe())!;
    expect(after.recentCloses.map((c) => c.periodId)).toEqual([p1, p2, p4, p5]);
  }, 180_000);

  it('a scheduled close that cannot succeed on retry fails with the reason, not retrying forever', async () => {
    // A calendar whose time zone the runtime does not know (say, after an ICU change): the activity's
    // RangeError is the same on every attempt, and the schedule buffers every later close behind this run.
    const bad: ScheduledCloseInput = {
      calendar: { kind: 'weekly', timezone: 'Mars/Olympus_Mons' },
      graceMs,
      // Never reached: the period id is worked out first.
      policy: {} as ScheduledCloseInput['policy'],
    };
    const handle = await stack.temporal.client.workflow.start('periodScheduledCloseWorkflow', {
      workflowId: `${PERIOD_CLOSE_WORKFLOW_ID}-bad-zone`,
      taskQueue: stack.taskQueue,
      args: [bad],
    });
    // Real time, bounded: result() would skip virtual time through the retries of a wedged run.
    const status = await eventually(
      'the run ends',
      async () => (await handle.describe()).status.name,
      (s) => s !== 'RUNNING',
      30_000,
    );
    expect(status).toBe('FAILED');
    const failure = await handle.result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const { cause } = failure as WorkflowFailedError;
    expect(cause?.message).toMatch(/cannot succeed on retry: .*Mars\/Olympus_Mons/);
    expect(cause?.message).toContain('PERIOD_TIMEZONE');
    expect(cause?.message).toContain('POST /v1/periods/{id}/close');
  }, 60_000);
});
