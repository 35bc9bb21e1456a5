// GET /v1/periods/schedule and its pause / unpause, against the real period-close Temporal Schedule on the
// embedded dev server: the view, the note naming who paused, the audit entry, roles, and 404 before a worker
// created the schedule.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { periodScheduleRoutes } from '../../src/api/routes/period-schedule.ts';
import { sql } from '../../src/db/sql.ts';
import { PeriodSchedule } from '../../src/periods/schedule.ts';
import { createTestEnv } from '../support/temporal.ts';
import { startTestApi, type TestApi } from './support.ts';

const HOUR = 3_600_000;
let env: TestWorkflowEnvironment;
let schedule: PeriodSchedule;
let api: TestApi;

beforeAll(async () => {
  env = await createTestEnv();
  schedule = new PeriodSchedule(env.client, {
    taskQueue: 'period-schedule-api',
    calendar: { kind: 'monthly', timezone: 'Europe/Paris' },
    graceMs: 6 * HOUR,
    policy: { reminderMs: 24 * HOUR, escalationMs: 72 * HOUR, payoutWindow: 500, payoutPollMs: 5_000 },
  });
  api = await startTestApi('period_schedule', { routes: periodScheduleRoutes({ schedule }) });
}, 120_000);
afterAll(async () => {
  await api?.close();
  await env?.teardown();
});

describe('period-close schedule routes', () => {
  it('answers 404 until a worker has created the schedule', async () => {
    const res = await api.call('GET', '/v1/periods/schedule', { key: api.keys.operator.key });
    expect(res.status).toBe(404);
    expect(res.body.detail).toMatch(/a worker creates it/);
  });

  it('shows the next closes, pauses and resumes them with a note and an audit entry', async () => {
    await schedule.ensure();
    const seen = await api.call('GET', '/v1/periods/schedule', { key: api.keys.operator.key });
    expect(seen.status).toBe(200);
    expect(seen.body).toMatchObject({
      scheduleId: 'period-close',
      paused: false,
      calendar: { kind: 'monthly', timezone: 'Europe/Paris' },
      graceWindowMs: 6 * HOUR,
    });
    expect(seen.body.nextCloses.length).toBeGreaterThan(0);
    expect(seen.body.nextCloses[0].periodId).toMatch(/^\d{4}-\d{2}$/);

    const paused = await api.call('POST', '/v1/periods/schedule/pause', {
      key: api.keys.operator.key,
      body: { note: 'October earnings are being corrected' },
    });
    expect(paused.status).toBe(200);
    expect(paused.body.paused).toBe(true);
    expect(paused.body.note).toBe('October earnings are being corrected (paused by olga)');
    expect((await api.call('GET', '/v1/periods/schedule')).body.paused).toBe(true);

    const resumed = await api.call('POST', '/v1/periods/schedule/unpause', {
      key: api.keys.operator.key,
      body: { note: 'corrected' },
    });
    expect(resumed.status).toBe(200);
    expect(resumed.body.paused).toBe(false);
    const audit = await sql<{ action: string; actor: string }>(
      api.db.em(),
      `SELECT action, actor FROM "${api.db.schema}".audit_log WHERE object_type = 'schedule' ORDER BY id`,
    );
    expect(audit).toEqual([
      { action: 'period.schedule_pause', actor: 'olga' },
      { action: 'period.schedule_unpause', actor: 'olga' },
    ]);
  });

  it('lets only operators pause, and refuses an empty note', async () => {
    for (const who of ['platform', 'approver'] as const) {
      const res = await api.call('POST', '/v1/periods/schedule/pause', {
        key: api.keys[who].key,
        body: { note: 'x' },
      });
      expect(res.status).toBe(403);
    }
    const empty = await api.call('POST', '/v1/periods/schedule/pause', {
      key: api.keys.operator.key,
      body: { note: '' },
    });
    expect(empty.status).toBe(400);
    expect(empty.body.errors).toEqual([expect.objectContaining({ path: 'body.note' })]);
    expect((await api.call('GET', '/v1/periods/schedule', { key: api.keys.approver.key })).status).toBe(403);
    expect((await schedule.describe())!.paused).toBe(false);
  });
});
