// Schedules and cron through the official SDK on the time-skipping server: virtual time moves schedules,
// scheduled runs carry TemporalScheduledById / TemporalScheduledStartTime, overlap policies, pause,
// trigger, backfill, update, delete, matching times; cron chains runs of one workflow id.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTestEnv } from '../src/testing.ts';
import {
  cronCounter,
  cronFlaky,
  finish,
  reportsStart,
  type Seen,
  startsCronChild,
  waitsForFinish,
} from './workflows/scheduled.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/scheduled.ts', import.meta.url));
const HOUR = 3_600_000;

describe('temporal-dev schedules and cron (time skipping)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `sched-${randomUUID()}`;

  beforeAll(async () => {
    env = await createTestEnv({ timeSkipping: true });
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  /** ListScheduleMatchingTimes (the SDK has no wrapper for it). */
  async function matchingTimes(scheduleId: string, from: number, to: number): Promise<number[]> {
    const res = await env.client.workflowService.listScheduleMatchingTimes({
      namespace: 'default',
      scheduleId,
      startTime: msToTs(from),
      endTime: msToTs(to),
    });
    return (res.startTime ?? []).map((t) => Number(t.seconds) * 1000);
  }

  /**
   * A closed run's result, read from its history: `result()` would unlock time skipping, and the schedules
   * of the test would move on meanwhile.
   */
  async function resultOf(workflowId: string, runId?: string): Promise<unknown> {
    const handle = env.client.workflow.getHandle(workflowId, runId);
    const history = await handle.fetchHistory();
    const last = history.events?.at(-1);
    const payload = last?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
    if (!payload?.data) throw new Error(`${workflowId} has not completed`);
    return JSON.parse(Buffer.from(payload.data).toString('utf8'));
  }

  async function runsOf(query: string): Promise<WorkflowExecutionInfo[]> {
    const out: WorkflowExecutionInfo[] = [];
    for await (const w of env.client.workflow.list({ query })) out.push(w);
    return out;
  }

  it('takes each interval action as virtual time passes, pauses, triggers, backfills, updates and deletes', async () => {
    const scheduleId = `hourly-${randomUUID()}`;
    const t0 = await env.currentTimeMs();
    const handle = await env.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1h' }] },
      action: {
        type: 'startWorkflow',
        workflowType: reportsStart,
        taskQueue,
        workflowId: `rep-${scheduleId}`,
      },
    });
    // Temporal UI counts schedules as the server's running scheduler workflows; other queries do not see them.
    const count = async (query: string) =>
      Number(
        (await env.client.workflowService.countWorkflowExecutions({ namespace: 'default', query })).count,
      );
    expect(
      await count(
        `TemporalNamespaceDivision="TemporalScheduler" AND ExecutionStatus="Running" AND WorkflowId="temporal-sys-scheduler:${scheduleId}"`,
      ),
    ).toBe(1);
    expect(await count(`WorkflowId = "temporal-sys-scheduler:${scheduleId}"`)).toBe(0);
    const d0 = await handle.describe();
    expect(d0.spec.intervals?.map((i) => i.every)).toEqual([HOUR]);
    const next = d0.info.nextActionTimes.map((d) => d.getTime());
    expect(next).toHaveLength(10);
    expect(next[0]).toBe((Math.floor(t0 / HOUR) + 1) * HOUR);
    for (let i = 1; i < next.length; i++) expect(next[i]! - next[i - 1]!).toBe(HOUR);

    await env.sleep('3h');
    const d1 = await handle.describe();
    expect(d1.info.numActionsTaken).toBe(3);
    expect(d1.info.recentActions.map((a) => a.scheduledAt.getTime())).toEqual(next.slice(0, 3));
    const first = d1.info.recentActions[0]!;
    const iso = new Date(next[0]!).toISOString().replace('.000Z', 'Z');
    expect(first.action.workflow.workflowId).toBe(`rep-${scheduleId}-${iso}`);
    const seen = (await resultOf(first.action.workflow.workflowId)) as Seen;
    expect(seen).toMatchObject({ scheduledBy: scheduleId, scheduledStart: new Date(next[0]!).toISOString() });
    expect(await runsOf(`TemporalScheduledById = "${scheduleId}"`)).toHaveLength(3);

    // Paused: nothing is taken, and what fell due meanwhile is not made up for on unpause.
    await handle.pause('maintenance window');
    const paused = await handle.describe();
    expect(paused.state).toMatchObject({ paused: true, note: 'maintenance window' });
    const listed = [];
    for await (const s of env.client.schedule.list()) if (s.scheduleId === scheduleId) listed.push(s);
    expect(listed).toHaveLength(1);
    expect(listed[0]!.state.paused).toBe(true);
    await env.sleep('2h');
    expect((await handle.describe()).info.numActionsTaken).toBe(3);
    await handle.unpause('back');
    await env.sleep('1h');
    expect((await handle.describe()).info.numActionsTaken).toBe(4);

    // Trigger now, and backfill three earlier hours (start inclusive) allowing overlap.
    await handle.trigger();
    expect((await handle.describe()).info.numActionsTaken).toBe(5);
    await handle.backfill({
      start: new Date(next[0]! - 3 * HOUR),
      end: new Date(next[0]! - HOUR),
      overlap: ScheduleOverlapPolicy.ALLOW_ALL,
    });
    const afterBackfill = await handle.describe();
    expect(afterBackfill.info.numActionsTaken).toBe(8);
    const backfilled = afterBackfill.info.recentActions.slice(-3).map((a) => a.scheduledAt.getTime());
    expect(backfilled).toEqual([next[0]! - 3 * HOUR, next[0]! - 2 * HOUR, next[0]! - HOUR]);

    // Matching times of the spec over a window: (start, end].
    expect(await matchingTimes(scheduleId, next[0]!, next[0]! + 2 * HOUR)).toEqual([
      next[0]! + HOUR,
      next[0]! + 2 * HOUR,
    ]);

    await handle.update((s) => ({ ...s, spec: { intervals: [{ every: '30m', offset: '5m' }] } }));
    const updated = await handle.describe();
    expect(updated.spec.intervals).toEqual([{ every: 30 * 60_000, offset: 5 * 60_000 }]);
    for (const t of updated.info.nextActionTimes) expect(t.getTime() % (30 * 60_000)).toBe(5 * 60_000);

    await expect(
      env.client.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: '1h' }] },
        action: { type: 'startWorkflow', workflowType: reportsStart, taskQueue },
      }),
    ).rejects.toBeInstanceOf(ScheduleAlreadyRunning);
    await handle.delete();
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  });

  it('reads calendars in their time zone, across a daylight saving change', async () => {
    const handle = await env.client.schedule.create({
      scheduleId: `ny-${randomUUID()}`,
      spec: {
        calendars: [{ hour: 9, minute: 30, dayOfWeek: ['MONDAY', 'FRIDAY'] }],
        timezone: 'America/New_York',
      },
      action: { type: 'startWorkflow', workflowType: reportsStart, taskQueue },
      state: { paused: true },
    });
    const d = await handle.describe();
    expect(d.spec.calendars?.[0]).toMatchObject({ hour: [{ start: 9, end: 9, step: 1 }] });
    const local = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    for (const t of d.info.nextActionTimes) expect(['Mon 09:30', 'Fri 09:30']).toContain(local.format(t));
    // Over the March change the UTC hour of 09:30 local moves from 14:30 to 13:30.
    const utc = (await matchingTimes(handle.scheduleId, Date.UTC(2027, 2, 1), Date.UTC(2027, 2, 31))).map(
      (t) => new Date(t).toISOString(),
    );
    expect(utc).toContain('2027-03-12T14:30:00.000Z'); // Friday, EST
    expect(utc).toContain('2027-03-15T13:30:00.000Z'); // Monday, EDT
    await handle.delete();
  });

  it('skips or buffers starts while the previous run is open, as the overlap policy says', async () => {
    const skip = await env.client.schedule.create({
      scheduleId: `skip-${randomUUID()}`,
      spec: { intervals: [{ every: '1h' }] },
      action: { type: 'startWorkflow', workflowType: waitsForFinish, taskQueue },
    });
    const buffer = await env.client.schedule.create({
      scheduleId: `buffer-${randomUUID()}`,
      spec: { intervals: [{ every: '1h' }] },
      action: { type: 'startWorkflow', workflowType: waitsForFinish, taskQueue },
      policies: { overlap: ScheduleOverlapPolicy.BUFFER_ONE },
    });
    await env.sleep('3h');
    const s = await skip.describe();
    expect(s.info.numActionsTaken).toBe(1);
    expect(s.info.numActionsSkippedOverlap).toBe(2);
    const b = await buffer.describe();
    expect(b.info.numActionsTaken).toBe(1);
    expect(b.info.numActionsSkippedOverlap).toBe(1); // one buffered, one skipped
    expect(b.info.runningActions).toHaveLength(1);
    // The running one finishes: the buffered start is taken at once.
    const runningId = b.info.runningActions[0]!.workflow.workflowId;
    await env.client.workflow.getHandle(runningId).signal(finish);
    await env.client.workflow.getHandle(runningId).result();
    const deadline = Date.now() + 20_000;
    let taken = 1;
    while (Date.now() < deadline && taken < 2) {
      taken = (await buffer.describe()).info.numActionsTaken;
      if (taken < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(taken).toBe(2);
    for (const h of [skip, buffer]) {
      const d = await h.describe();
      await h.delete();
      for (const w of d.info.runningActions)
        await env.client.workflow.getHandle(w.workflow.workflowId).terminate('test over');
    }
  });

  it('runs a cron workflow once per matching time, handing each result (and failure) to the next run', async () => {
    const workflowId = `cron-${randomUUID()}`;
    const t0 = await env.currentTimeMs();
    const h = await env.client.workflow.start(cronCounter, {
      taskQueue,
      workflowId,
      cronSchedule: '0 * * * *',
    });
    const first = await h.describe();
    // The first run waits for the first matching time (the next full hour).
    // (the wait is whole seconds, as the server rounds it up)
    const hour = (Math.floor(t0 / HOUR) + 1) * HOUR;
    expect(first.executionTime!.getTime()).toBeGreaterThanOrEqual(hour);
    expect(first.executionTime!.getTime()).toBeLessThan(hour + 1000);
    // To half past the third matching hour: three runs done, the fourth waiting.
    await env.sleep(hour + 2.5 * HOUR - (await env.currentTimeMs()));
    const runs = await runsOf(`WorkflowId = "${workflowId}"`);
    const closed = runs.filter((r) => r.status.name === 'COMPLETED');
    expect(closed).toHaveLength(3);
    expect(runs.filter((r) => r.status.name === 'RUNNING')).toHaveLength(1);
    const results = [];
    for (const r of closed.sort((a, b) => a.startTime.getTime() - b.startTime.getTime())) {
      results.push(await resultOf(workflowId, r.runId));
    }
    expect(results).toEqual([1, 2, 3]);
    await h.terminate('test over');

    const flakyId = `cron-flaky-${randomUUID()}`;
    const f = await env.client.workflow.start(cronFlaky, {
      taskQueue,
      workflowId: flakyId,
      cronSchedule: '@every 1h',
    });
    await env.sleep(4.5 * HOUR);
    const flaky = (await runsOf(`WorkflowId = "${flakyId}"`)).sort(
      (a, b) => a.startTime.getTime() - b.startTime.getTime(),
    );
    expect(flaky.slice(0, 4).map((r) => r.status.name)).toEqual([
      'COMPLETED',
      'FAILED',
      'COMPLETED',
      'COMPLETED',
    ]);
    const third = await resultOf(flakyId, flaky[2]!.runId);
    expect(third).toBe(2); // the last completed result (1) survived the failed run
    await f.terminate('test over');
  });

  it('runs a cron child workflow on its schedule too', async () => {
    const t0 = await env.currentTimeMs();
    const childId = await env.client.workflow.execute(startsCronChild, {
      taskQueue,
      workflowId: `cron-parent-${randomUUID()}`,
      args: ['0 * * * *'],
    });
    const hour = (Math.floor(t0 / HOUR) + 1) * HOUR;
    await env.sleep(hour + 1.5 * HOUR - (await env.currentTimeMs()));
    const runs = await runsOf(`WorkflowId = "${childId}"`);
    expect(runs.filter((r) => r.status.name === 'COMPLETED')).toHaveLength(2);
    expect(runs.filter((r) => r.status.name === 'RUNNING')).toHaveLength(1);
    await env.client.workflow.getHandle(childId).terminate('test over');
  });

  it('refuses a bad spec or cron string with INVALID_ARGUMENT naming the problem', async () => {
    await expect(
      env.client.schedule.create({
        scheduleId: `bad-${randomUUID()}`,
        spec: { cronExpressions: ['61 * * * *'] },
        action: { type: 'startWorkflow', workflowType: reportsStart, taskQueue },
      }),
    ).rejects.toMatchObject({ cause: { details: expect.stringMatching(/Minute is not in range \[0-59\]/) } });
    await expect(
      env.client.schedule.create({
        scheduleId: `bad-${randomUUID()}`,
        spec: { intervals: [{ every: '1h' }], timezone: 'Mars/Olympus' },
        action: { type: 'startWorkflow', workflowType: reportsStart, taskQueue },
      }),
    ).rejects.toMatchObject({ cause: { details: expect.stringMatching(/unknown time zone Mars\/Olympus/) } });
    await expect(
      env.client.workflow.start(cronCounter, {
        taskQueue,
        workflowId: randomUUID(),
        cronSchedule: 'every day',
      }),
    ).rejects.toMatchObject({ cause: { details: expect.stringMatching(/invalid CronSchedule/) } });
  });

  it('jitters each start within the jitter after its nominal time, and names the run by the nominal time', async () => {
    const scheduleId = `jitter-${randomUUID()}`;
    const handle = await env.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1h' }], jitter: '30m' },
      action: { type: 'startWorkflow', workflowType: reportsStart, taskQueue, workflowId: `j-${scheduleId}` },
    });
    const next = (await handle.describe()).info.nextActionTimes.map((d) => d.getTime());
    for (const t of next) expect(t % HOUR).toBeLessThan(30 * 60_000);
    // Deterministic per schedule and time, and not all on the hour.
    expect(next.some((t) => t % HOUR !== 0)).toBe(true);
    await env.sleep('3h');
    const d = await handle.describe();
    expect(d.info.numActionsTaken).toBeGreaterThanOrEqual(2);
    for (const a of d.info.recentActions) {
      const at = a.scheduledAt.getTime();
      const nominal = Math.floor(at / HOUR) * HOUR;
      expect(next).toContain(at);
      const iso = new Date(nominal).toISOString().replace('.000Z', 'Z');
      expect(a.action.workflow.workflowId).toBe(`j-${scheduleId}-${iso}`);
    }
    await handle.delete();
  });

  it('works through a backfill ten starts a second, as the server paces it', async () => {
    const scheduleId = `backfill-${randomUUID()}`;
    const handle = await env.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every: '1h' }] },
      action: {
        type: 'startWorkflow',
        workflowType: reportsStart,
        taskQueue,
        workflowId: `bf-${scheduleId}`,
      },
      // Paused: only the backfill acts (manual starts ignore the pause).
      state: { paused: true },
    });
    const hour = Math.floor((await env.currentTimeMs()) / HOUR) * HOUR;
    await handle.backfill({
      start: new Date(hour - 24 * HOUR),
      end: new Date(hour),
      overlap: ScheduleOverlapPolicy.ALLOW_ALL,
    });
    // This took all 25 at once (and dropped any beyond the 1,000-start buffer).
    expect((await handle.describe()).info.numActionsTaken).toBe(10);
    await env.sleep('1s');
    expect((await handle.describe()).info.numActionsTaken).toBe(20);
    await env.sleep('1m');
    const done = await env.client.workflowService.describeSchedule({ namespace: 'default', scheduleId });
    expect(Number(done.info?.actionCount)).toBe(25);
    expect(Number(done.info?.bufferDropped ?? 0)).toBe(0);
    await handle.delete();
  });

  it('removes a schedule 7 days after it has nothing left to do; a paused one stays', async () => {
    const action = { type: 'startWorkflow' as const, workflowType: reportsStart, taskQueue };
    const once = await env.client.schedule.create({
      scheduleId: `once-${randomUUID()}`,
      spec: { intervals: [{ every: '1h' }] },
      action,
      state: { remainingActions: 1 },
    });
    const paused = await env.client.schedule.create({
      scheduleId: `paused-${randomUUID()}`,
      spec: { intervals: [{ every: '1h' }] },
      action,
      state: { paused: true, remainingActions: 0 },
    });
    await env.sleep('2h');
    expect((await once.describe()).info.numActionsTaken).toBe(1);
    // Its last action was at most 2 hours ago: kept for 7 days from it.
    await env.sleep('6d');
    expect((await once.describe()).state.remainingActions).toBe(0);
    await env.sleep('1d');
    await expect(once.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect((await paused.describe()).state.paused).toBe(true);
    await paused.delete();
  });
});
