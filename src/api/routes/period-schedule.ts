// The period-close schedule (src/periods/schedule.ts): operators read when periods close next and hold
// scheduled closes (pause, with a note) during e.g. a data correction; manual closes keep working.
import { z } from 'zod';
import { ApiError } from '../../http/errors.ts';
import type { PeriodSchedule, PeriodScheduleView } from '../../periods/schedule.ts';
import { defineRoute, type Route } from '../route.ts';

const scheduleView = z
  .object({
    scheduleId: z.string().describe("Temporal schedule id (find it on Temporal UI's Schedules page)"),
    paused: z.boolean().describe('Scheduled closes are held'),
    note: z.string().describe('Why it was paused or resumed, and by whom'),
    calendar: z
      .object({
        kind: z.enum(['weekly', 'monthly', 'semi_monthly']).describe('Period length'),
        timezone: z.string().describe('IANA time zone the periods follow'),
      })
      .describe('PERIOD_CALENDAR'),
    graceWindowMs: z
      .number()
      .int()
      .describe('How long after a period ends it is closed (PERIOD_CLOSE_GRACE), for late earnings'),
    nextCloses: z
      .array(
        z.object({
          periodId: z.string().describe('Period the close is for'),
          at: z.string().describe('When (ISO 8601 UTC)'),
        }),
      )
      .describe('Upcoming scheduled closes'),
    recentCloses: z
      .array(
        z.object({
          periodId: z.string().describe('Period closed'),
          scheduledAt: z.string().describe('When it was due (ISO 8601 UTC)'),
          takenAt: z.string().describe('When the schedule acted (ISO 8601 UTC)'),
          workflowId: z.string().describe('Workflow the schedule started'),
        }),
      )
      .describe('The last scheduled closes'),
  })
  .meta({ id: 'PeriodSchedule', description: 'The period-close schedule' });

const noteBody = z
  .strictObject({ note: z.string().min(1).max(500).describe('Why (shown on the schedule, with your name)') })
  .meta({
    id: 'PeriodScheduleNote',
    examples: [{ note: 'holding closes while October earnings are corrected' }],
  });

function found(view: PeriodScheduleView | undefined): PeriodScheduleView {
  if (!view) {
    throw new ApiError(
      'not_found',
      'The period-close schedule does not exist yet: a worker creates it when it starts (npm start, or the worker process)',
    );
  }
  return view;
}

export function periodScheduleRoutes(deps: { schedule: PeriodSchedule }): Route[] {
  const change = (action: 'pause' | 'unpause') =>
    defineRoute({
      method: 'post',
      path: `/v1/periods/schedule/${action}`,
      summary: action === 'pause' ? 'Hold scheduled period closes' : 'Resume scheduled period closes',
      description:
        action === 'pause'
          ? 'Manual closes (POST /v1/periods/{id}/close) still work while closes are held.'
          : 'Periods whose close fell due while paused are not closed retroactively: close them by hand.',
      tags: ['periods'],
      roles: ['operator'],
      body: noteBody,
      // No transaction held across the call to Temporal; pausing twice is pausing.
      idempotencyMode: 'lease',
      responses: { 200: { description: 'The schedule after the change', schema: scheduleView } },
      handler: async (ctx) => {
        await ctx.untilKeyHeld();
        const by = { actor: ctx.principal.actor, role: ctx.principal.role };
        const view = found(await deps.schedule[action](ctx.body.note, by));
        await ctx.audit({
          action: `period.schedule_${action}`,
          objectType: 'schedule',
          objectId: view.scheduleId,
          details: { note: ctx.body.note },
        });
        return { status: 200, body: view };
      },
    });
  return [
    defineRoute({
      method: 'get',
      path: '/v1/periods/schedule',
      summary: 'When periods close next, the last closes, and whether closes are held',
      tags: ['periods'],
      roles: ['platform', 'operator'],
      responses: { 200: { description: 'The period-close schedule', schema: scheduleView } },
      handler: async () => ({ status: 200, body: found(await deps.schedule.describe()) }),
    }),
    change('pause'),
    change('unpause'),
  ];
}
