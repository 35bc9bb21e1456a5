// GET /v1/payouts/:id/history: the payout workflow's history as the operator reads it in Temporal UI, one
// short line per event, paged by event id. Staff roles only: a history names internal steps and failures.
import { z } from 'zod';
import { payoutWorkflowId } from '../../../workflows/payout-contract.ts';
import { ApiError } from '../../http/errors.ts';
import { historyPage, type PayoutHistory } from '../../payouts/history.ts';
import { FINAL_STATES } from '../../payouts/state.ts';
import type { PayoutStore } from '../../payouts/store.ts';
import { defineRoute, type Route } from '../route.ts';
import { pageLimit } from '../schemas/pagination.ts';
import { payoutIdSchema } from './payout-schemas.ts';

const params = z.strictObject({ id: payoutIdSchema });

/** Paging of a workflow history (also GET /v1/periods/:id/history). */
export const historyQuery = z.strictObject({
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, 'is not a cursor this API returned; start again without a cursor')
    .transform(Number)
    .optional()
    .describe('nextCursor from the previous page: the id of the first event to return'),
  limit: pageLimit,
});

export const historyEventView = z
  .object({
    eventId: z.number().int().describe('Event id in the workflow history, from 1'),
    time: z.string().describe('When the event was recorded (ISO 8601 UTC)'),
    type: z
      .string()
      .describe(
        'Temporal event type, e.g. WorkflowExecutionStarted, ActivityTaskScheduled, TimerStarted, ' +
          'WorkflowExecutionSignaled, WorkflowExecutionUpdateAccepted, MarkerRecorded (local activities, patches)',
      ),
    detail: z
      .string()
      .describe(
        'What it was about: activity or local activity name, timer duration, signal or update name, ' +
          'failure message; never payload contents',
      ),
  })
  .meta({ id: 'PayoutHistoryEvent', description: 'One event of a payout workflow history' });

const historyView = z
  .object({
    payoutId: z.string().describe('Payout id'),
    workflowId: z.string().describe('Temporal workflow id (payout-<id>), to find it in Temporal UI'),
    items: z.array(historyEventView).describe('Events in history order'),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null at the end'),
  })
  .meta({ id: 'PayoutHistory', description: 'A page of a payout workflow history' });

export function payoutHistoryRoutes(deps: { history: PayoutHistory; store: PayoutStore }): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/payouts/:id/history',
      summary: "A payout workflow's history (events, paged)",
      description:
        'Read through the Temporal client, so it is the same on the embedded server and a real cluster. ' +
        'Inputs, results and search attribute values are never shown.',
      tags: ['payouts'],
      roles: ['platform', 'operator', 'approver'],
      params,
      query: historyQuery,
      responses: {
        200: { description: 'A page of events', schema: historyView },
        404: {
          description:
            'No such payout, its workflow was never started, or its closed workflow is past the retention period',
        },
      },
      handler: async (ctx) => {
        const { id } = ctx.params;
        const payout = await deps.store.get(ctx.em, id);
        if (!payout) throw new ApiError('not_found', `Payout ${id} not found`);
        const events = await deps.history.read(id);
        if (!events) {
          // A final payout had a workflow: Temporal deletes closed workflows once the namespace's retention
          // has passed (or an operator deleted it). Its record and ledger postings are what remains.
          throw new ApiError(
            'not_found',
            FINAL_STATES.includes(payout.state)
              ? `Payout ${id} (state ${payout.state}) has no workflow history any more: Temporal deletes a closed ` +
                  "workflow once its namespace's retention period has passed; GET /v1/payouts/{id} and its " +
                  'ledger postings still show what happened'
              : `Payout ${id} has no workflow history: its workflow was never started (state ${payout.state})`,
          );
        }
        const page = {
          limit: ctx.query.limit ?? 50,
          ...(ctx.query.cursor ? { fromEventId: ctx.query.cursor } : {}),
        };
        return {
          status: 200,
          body: { payoutId: id, workflowId: payoutWorkflowId(id), ...historyPage(events, page) },
        };
      },
    }),
  ];
}
