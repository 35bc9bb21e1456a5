// Commission periods: close (starts the period-close workflow), progress, statement preview,
// recalculation with a diff, and approval / rejection by finance approvers (TOTP).
import { z } from 'zod';
import type { Actor } from '../../auth/actor.ts';
import type { Principal } from '../../auth/principal.ts';
import { ApiError } from '../../http/errors.ts';
import { periodHasStarted, periodKind } from '../../periods/calendar.ts';
import { PeriodDecisionRefused, type PeriodGateway } from '../../periods/gateway.ts';
import type { PeriodService } from '../../periods/service.ts';
import type { PlanRegistry } from '../../plans/registry.ts';
import { defineRoute, type Route, type RouteContext } from '../route.ts';
import {
  periodCloseAcceptedSchema,
  periodIdSchema,
  periodNotClosedSchema,
  periodProgressSchema,
  periodRecalculationAcceptedSchema,
  statementsPageSchema,
} from '../schemas/period.ts';
import { decisionUpdateId } from './payouts.ts';

const params = z.strictObject({ id: periodIdSchema });
const planVersion = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/)
  .describe('Compensation plan version');
const totpCode = z
  .string()
  .regex(/^\d{6}$/, 'must be the 6-digit code')
  .describe('Approver TOTP code');
const reason = z.string().min(1).max(500).describe('Why');

const progressView = periodProgressSchema;

const actorOf = (p: Principal): Actor => ({ actor: p.actor, role: p.role });

// Routes that deliver an update or start the workflow run in lease mode: no transaction is held while the
// workflow works, since its activities need the database meanwhile (on embedded PGlite, the only session).
// Their 4xx refusals come before any write; the update id comes from actor + Idempotency-Key, so a request
// retried after it was lost is the same update.
const updateIdOf = (action: string, ctx: unknown) =>
  decisionUpdateId(action, ctx as RouteContext<unknown, unknown, unknown>);

async function refusedAs409<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof PeriodDecisionRefused) throw new ApiError('conflict', err.message);
    throw err;
  }
}

export function periodRoutes(deps: {
  gateway: PeriodGateway;
  periods: PeriodService;
  plans: PlanRegistry;
}): Route[] {
  const { gateway, periods, plans } = deps;
  const checkPlan = (version: string | undefined) => {
    if (version !== undefined && !plans.has(version)) {
      throw new ApiError(
        'unprocessable',
        `Plan version ${version} is not loaded; known: ${plans.versions().join(', ')}`,
      );
    }
  };
  // Events land in the period of the configured calendar: a period of another kind, or one that has not
  // begun, has none to calculate, and closing it would refuse its events before they happen.
  const checkClosable = (id: string, now: Date) => {
    const { calendar } = periods.settings;
    if (periodKind(id) !== calendar.kind) {
      throw new ApiError('unprocessable', `Period ${id} is not a period of the ${calendar.kind} calendar`);
    }
    if (!periodHasStarted(id, now, calendar)) {
      throw new ApiError(
        'unprocessable',
        `Period ${id} has not begun yet (${calendar.timezone}); it cannot be closed`,
      );
    }
  };
  const decision = (d: 'approve' | 'reject') =>
    defineRoute({
      method: 'post',
      path: `/v1/periods/:id/${d}`,
      summary:
        d === 'approve'
          ? 'Approve a calculated period (TOTP)'
          : 'Reject a calculated period for corrections (TOTP)',
      tags: ['periods'],
      roles: ['approver'],
      params,
      body: z.strictObject({ totp: totpCode, reason: d === 'reject' ? reason : reason.optional() }),
      idempotencyMode: 'lease',
      responses: {
        200: { description: 'Decision recorded', schema: progressView },
        409: { description: 'Not awaiting approval, already decided by this approver, or closer approving' },
      },
      handler: async (ctx) => {
        // A replayed request must not spend a second TOTP code: the key is this request's first.
        await ctx.untilKeyHeld();
        const updateId = updateIdOf(`period.${d}`, ctx);
        const progress = await refusedAs409(async () => {
          // A retry after a 503 (decision sent, answer not known): its TOTP code was spent by its first try.
          const sent = await gateway.sentDecision(ctx.params.id, updateId);
          if (sent) return sent;
          await ctx.verifyApproverTotp(ctx.body.totp);
          return gateway.decide(ctx.params.id, actorOf(ctx.principal), d, ctx.body.reason ?? '', updateId);
        });
        await ctx.audit({
          action: `period.${d}`,
          objectType: 'period',
          objectId: ctx.params.id,
          details: { run: progress.run, reason: ctx.body.reason ?? null },
        });
        return { status: 200, body: progress };
      },
    });
  return [
    defineRoute({
      method: 'post',
      path: '/v1/periods/:id/close',
      summary: 'Close a period and start its calculation (or close it again after corrections)',
      tags: ['periods'],
      roles: ['platform', 'operator'],
      params,
      body: z.strictObject({ planVersion: planVersion.optional() }),
      idempotencyMode: 'lease',
      responses: {
        202: { description: 'The period-close workflow runs', schema: periodCloseAcceptedSchema },
        409: { description: 'The period was closed before and its workflow has passed retention' },
        422: {
          description: 'Unknown plan version, a period not begun yet, or not of the configured calendar',
        },
      },
      handler: async (ctx) => {
        checkPlan(ctx.body.planVersion);
        checkClosable(ctx.params.id, ctx.now);
        const outcome = await refusedAs409(() =>
          gateway.close(
            ctx.params.id,
            actorOf(ctx.principal),
            periods,
            ctx.body.planVersion,
            updateIdOf('period.close', ctx),
          ),
        );
        await ctx.audit({
          action: 'period.close',
          objectType: 'period',
          objectId: ctx.params.id,
          details: { outcome },
        });
        return { status: 202, body: { periodId: ctx.params.id, workflow: outcome } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/periods/:id',
      summary: 'Progress of the period close (batches, totals, approvals, payouts, completion summary)',
      tags: ['periods'],
      roles: ['platform', 'operator', 'approver'],
      params,
      responses: {
        200: {
          description: 'Progress (or the stored status of a period never closed)',
          schema: z.union([progressView, periodNotClosedSchema]),
        },
      },
      handler: async (ctx) => {
        const progress = await gateway.progress(ctx.params.id);
        if (progress) return { status: 200, body: progress };
        const row = await periods.period(ctx.params.id);
        if (!row)
          throw new ApiError('not_found', `Period ${ctx.params.id} has no events and was never closed`);
        return {
          status: 200,
          body: { periodId: row.id, stage: row.status === 'open' ? 'open' : row.status },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/periods/:id/statements',
      summary: 'Preview statements of the latest calculation run (paged by payee id)',
      tags: ['periods'],
      roles: ['platform', 'operator', 'approver'],
      params,
      query: z.strictObject({
        after: z.string().max(100).optional().describe('Last payee id of the previous page'),
        limit: z
          .string()
          .regex(/^\d{1,4}$/)
          .transform(Number)
          .pipe(z.number().int().min(1).max(1000))
          .optional()
          .describe('Page size, 1-1000 (default 100)'),
        run: z
          .string()
          .regex(/^\d{1,6}$/)
          .transform(Number)
          .optional()
          .describe('Calculation run (default latest)'),
      }),
      responses: { 200: { description: 'Statements', schema: statementsPageSchema } },
      handler: async (ctx) => {
        const row = await periods.period(ctx.params.id);
        if (!row || row.run === 0)
          throw new ApiError('not_found', `Period ${ctx.params.id} has not been calculated yet`);
        const run = ctx.query.run ?? row.run;
        const limit = ctx.query.limit ?? 100;
        const statements = await periods.statements(ctx.params.id, run, ctx.query.after ?? null, limit);
        return {
          status: 200,
          body: {
            periodId: ctx.params.id,
            run,
            planVersion: row.plan_version,
            statements: statements.map((s) => ({
              payeeId: s.payee_id,
              currency: s.currency,
              total: s.total,
              ...s.lines,
            })),
            next: statements.length === limit ? statements[statements.length - 1]!.payee_id : null,
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/periods/:id/recalculate',
      summary: 'Recalculate the period with a (corrected) plan version before approval',
      description:
        'Accepted once the workflow has validated it (awaiting approval, no recalculation running). The new run ' +
        'is calculated in the background; GET /v1/periods/{id} shows progress and, when done, lastDiff.',
      tags: ['periods'],
      roles: ['operator', 'approver'],
      params,
      body: z.strictObject({ planVersion }),
      idempotencyMode: 'lease',
      responses: {
        202: { description: 'Recalculation accepted', schema: periodRecalculationAcceptedSchema },
        409: { description: 'The period is not awaiting approval' },
      },
      handler: async (ctx) => {
        checkPlan(ctx.body.planVersion);
        const before = await gateway.progress(ctx.params.id);
        if (!before) throw new ApiError('not_found', `Period ${ctx.params.id} has not been closed`);
        // Checked here too: an update the workflow's validator rejects still returns a handle once accepted
        // is asked for, so a refusal would otherwise be answered 202 with nothing done.
        if (before.stage !== 'awaiting_approval') {
          throw new ApiError(
            'conflict',
            `period ${ctx.params.id} is ${before.stage}; recalculation is possible only before approval`,
          );
        }
        await ctx.untilKeyHeld();
        await refusedAs409(() =>
          gateway.startRecalculation(
            ctx.params.id,
            actorOf(ctx.principal),
            ctx.body.planVersion,
            updateIdOf('period.recalculate', ctx),
          ),
        );
        await ctx.audit({
          action: 'period.recalculate',
          objectType: 'period',
          objectId: ctx.params.id,
          details: { planVersion: ctx.body.planVersion, fromRun: before.run },
        });
        return {
          status: 202,
          body: {
            periodId: ctx.params.id,
            fromRun: before.run,
            toRun: before.run + 1,
            planVersion: ctx.body.planVersion,
          },
        };
      },
    }),
    decision('approve'),
    decision('reject'),
  ];
}
