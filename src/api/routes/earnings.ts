// Earnings ingestion (batches of up to 10 000 events) and a payee's provisional earnings for a period.
import { z } from 'zod';
import { EarningsRejected, ingestEarnings, MAX_EVENTS_PER_BATCH } from '../../earnings/ingest.ts';
import { ApiError } from '../../http/errors.ts';
import { MoneyError } from '../../money/index.ts';
import { payeeIdSchema } from '../../payees/schemas.ts';
import { type PeriodCalendar, periodIdFor } from '../../periods/calendar.ts';
import type { PeriodService } from '../../periods/service.ts';
import { outOfRangeDetail } from '../problem.ts';
import { defineRoute, type Route } from '../route.ts';
import { moneySchema } from '../schemas/money.ts';
import { periodIdSchema } from '../schemas/period.ts';

const eventSchema = z
  .strictObject({
    externalId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,120}$/, 'must be 1-120 characters of letters, digits and . _ : -')
      .describe(
        "The platform's id of the event; an id is accepted once (replays with the same content are no-ops)",
      ),
    payeeId: payeeIdSchema,
    type: z.enum(['sale', 'commission', 'bonus', 'adjustment', 'clawback']).describe('What the event is'),
    amount: moneySchema.describe('Positive amount (adjustments may be negative)'),
    occurredAt: z.iso.datetime({ offset: true }).describe('When it happened (ISO 8601); decides the period'),
    category: z
      .string()
      .regex(/^[a-z0-9_-]{1,40}$/, 'must be 1-40 lower-case letters, digits, _ or -')
      .optional()
      .describe('Product category (sales), for the plan\'s base rate; default "default"'),
    volume: z
      .number()
      .int()
      .min(0)
      .max(1_000_000_000)
      .optional()
      .describe('Volume points (sales add, clawbacks subtract); default 0'),
  })
  .describe('One earnings event');

const ingestBody = z
  .strictObject({
    events: z
      .array(eventSchema)
      .min(1)
      .max(MAX_EVENTS_PER_BATCH)
      .describe(`1-${MAX_EVENTS_PER_BATCH} events`),
    lateEvents: z
      .enum(['reject', 'next_period'])
      .optional()
      .describe(
        'Events of a period that is already closed: reject (default) or book in the next open period',
      ),
  })
  .meta({ id: 'EarningsBatch', description: 'A batch of earnings events' });

const ingestView = z
  .object({
    accepted: z.number().describe('New events recorded'),
    duplicates: z.number().describe('Events already recorded with the same content (no-ops)'),
    late: z.number().describe('Events booked in a later period because theirs was closed'),
    periods: z
      .array(
        z
          .object({
            periodId: z.string().describe('Period id'),
            events: z.number().describe('New events in it'),
          })
          .describe('Events per period'),
      )
      .describe('Where the new events landed'),
  })
  .meta({ id: 'EarningsIngested', description: 'Outcome of an earnings batch' });

const statementView = z
  .object({
    currency: z.string().describe('ISO 4217 code'),
    personalVolume: z.number().describe('Net personal volume in the period'),
    groupVolume: z.number().describe('Personal volume plus the whole downline'),
    rank: z.string().nullable().describe('Rank reached (bonus), if any'),
    commission: z.string().describe('Minor units'),
    overrides: z.string().describe('Minor units'),
    bonus: z.string().describe('Minor units'),
    adjustments: z
      .string()
      .describe('Minor units: reported commissions, bonuses, adjustments minus clawbacks'),
    total: z.string().describe('Minor units'),
  })
  .describe('Statement in one currency');

const earningsView = z
  .object({
    payeeId: z.string().describe('Payee id'),
    periodId: z.string().describe('Period id'),
    periodStatus: z.string().describe('open, closed, reopened, posted or completed'),
    planVersion: z.string().describe('Plan version the statement is calculated with'),
    provisional: z.boolean().describe('True while the period is not yet calculated and approved'),
    statements: z.array(statementView).describe('One statement per currency'),
    events: z
      .array(
        z
          .object({
            type: z.string().describe('Event type'),
            currency: z.string().describe('ISO 4217 code'),
            count: z.number().describe('Number of events'),
            amount: z.string().describe('Sum of amounts (minor units)'),
            volume: z.number().describe('Sum of volume'),
          })
          .describe('Totals of one type and currency'),
      )
      .describe('Event totals by type and currency'),
  })
  .meta({ id: 'PayeeEarnings', description: "A payee's earnings in one period" });

export function earningsRoutes(deps: {
  periods: PeriodService;
  schema: string;
  calendar: PeriodCalendar;
}): Route[] {
  const { periods, schema, calendar } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/earnings',
      summary: 'Report earnings events (up to 10 000 per request)',
      description:
        'Events are deduplicated by externalId and land in the open period of their occurredAt. All or nothing: ' +
        'a batch with any bad, conflicting or closed-period event writes nothing and lists every problem.',
      tags: ['earnings'],
      roles: ['platform'],
      body: ingestBody,
      bodyLimitBytes: 8 * 1024 * 1024,
      responses: {
        200: { description: 'Recorded', schema: ingestView },
        409: { description: 'An externalId was reused with different content, or a period is closed' },
        422: { description: 'Unknown payees' },
      },
      handler: async (ctx) => {
        try {
          const result = await ingestEarnings(
            ctx.em,
            schema,
            calendar,
            ctx.body.events,
            ctx.body.lateEvents ?? 'reject',
          );
          return { status: 200, body: result };
        } catch (err) {
          if (err instanceof EarningsRejected) {
            throw new ApiError(err.kind, err.message, {
              errors: err.problems.slice(0, 100).map((p) => ({
                path: `body.events.${p.index}`,
                message: `${p.externalId}: ${p.message}`,
                code: 'event_rejected',
              })),
            });
          }
          if (err instanceof MoneyError) {
            const tooLarge = err.reason === 'out_of_range';
            throw new ApiError(
              tooLarge ? 'unprocessable' : 'validation_failed',
              tooLarge ? outOfRangeDetail(err.message) : err.message,
              {
                errors: [{ path: `body.${err.field}`, message: err.message }],
              },
            );
          }
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payees/:id/earnings',
      summary: "A payee's earnings in a period (provisional until the period is calculated)",
      tags: ['earnings'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      payeeParam: 'id',
      params: z.strictObject({ id: payeeIdSchema }),
      query: z.strictObject({
        period: periodIdSchema.optional().describe('Period id (default: the current period)'),
      }),
      responses: { 200: { description: 'Earnings', schema: earningsView } },
      handler: async (ctx) => {
        const periodId = ctx.query.period ?? periodIdFor(ctx.now, calendar);
        const p = await periods.provisional(periodId, ctx.params.id);
        return {
          status: 200,
          body: {
            payeeId: ctx.params.id,
            periodId,
            periodStatus: p.status,
            planVersion: p.planVersion,
            provisional: p.status !== 'posted' && p.status !== 'completed',
            statements: p.statements.map((s) => ({
              currency: s.currency,
              personalVolume: s.personalVolume,
              groupVolume: s.groupVolume,
              rank: s.rank,
              commission: s.commission.toString(),
              overrides: s.overrides.toString(),
              bonus: s.bonus.toString(),
              adjustments: s.adjustments.toString(),
              total: s.total.toString(),
            })),
            events: p.events.map((e) => ({
              type: e.type,
              currency: e.currency,
              count: Number(e.n),
              amount: e.amount,
              volume: Number(e.volume),
            })),
          },
        };
      },
    }),
  ];
}
