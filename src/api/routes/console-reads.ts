// Reads the browser console needs and any client may use: who a credential is, a payout's audit entries and
// the webhooks it emitted (its state timeline), and what a payout would cost before it is requested.
import { z } from 'zod';
import { periodWorkflowId } from '../../../workflows/period-contract.ts';
import type { PayoutsConfig } from '../../config/payouts.ts';
import { computeInstantFee } from '../../fees/index.ts';
import { ApiError } from '../../http/errors.ts';
import { verifyLedger } from '../../ledger/verify.ts';
import { parseMoney } from '../../money/index.ts';
import { payeeIdSchema } from '../../payees/schemas.ts';
import type { PayeeService } from '../../payees/service.ts';
import { historyPage } from '../../payouts/history.ts';
import { pendingApprovals } from '../../payouts/pending-approvals.ts';
import type { PayoutStore } from '../../payouts/store.ts';
import { payoutAuditEntries, payoutWebhookEvents } from '../../payouts/timeline.ts';
import type { PeriodGateway } from '../../periods/gateway.ts';
import type { PeriodService } from '../../periods/service.ts';
import { nextPayoutWindow } from '../../routing/index.ts';
import type { SpendbackService } from '../../spendback/service.ts';
import { defineRoute, type Route } from '../route.ts';
import { moneySchema } from '../schemas/money.ts';
import { periodIdSchema } from '../schemas/period.ts';
import { historyEventView, historyQuery } from './payout-history.ts';
import { payoutIdSchema } from './payout-schemas.ts';

const periodHistoryView = z
  .object({
    periodId: z.string().describe('Commission period id'),
    workflowId: z.string().describe('Temporal workflow id (period-<id>), to find it in Temporal UI'),
    items: z.array(historyEventView).describe('Events in history order (the latest run of the workflow)'),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null at the end'),
  })
  .meta({ id: 'PeriodHistory', description: "A page of a period-close workflow's history" });

const whoamiView = z
  .object({
    role: z.enum(['platform', 'approver', 'operator', 'payee']).describe('Role of the credential'),
    actor: z.string().describe('Actor recorded in the audit log for this credential'),
    payeeId: z.string().nullable().describe('The payee a payee token is scoped to; null for API keys'),
  })
  .meta({ id: 'Whoami', description: 'The caller as the API sees it' });

const auditView = z
  .object({
    items: z.array(
      z.object({
        at: z.string().describe('When (ISO 8601 UTC)'),
        actor: z.string().describe('Who'),
        role: z.string().describe('Their role'),
        action: z.string().describe('Dotted verb, e.g. payout.approve'),
        details: z.record(z.string(), z.unknown()).describe('What was decided (never secrets or codes)'),
      }),
    ),
  })
  .meta({ id: 'PayoutAudit', description: 'Audit entries of one payout, oldest first' });

const webhookView = z
  .object({
    items: z.array(
      z.object({
        id: z.string().describe('Event id (the webhook-id header)'),
        type: z.string().describe('Event type, e.g. payout.paid'),
        occurredAt: z.string().describe('When the state change committed (ISO 8601 UTC)'),
        deliveredAt: z.string().nullable().describe('When an endpoint acknowledged it; null while pending'),
        attempts: z.number().int().describe('Delivery attempts so far'),
      }),
    ),
  })
  .meta({ id: 'PayoutWebhooks', description: 'Webhook events a payout emitted, oldest first' });

const verifyView = z
  .object({
    ok: z.boolean().describe('Every invariant holds'),
    violations: z
      .array(
        z.object({
          check: z.string().describe('Which invariant, e.g. transaction_unbalanced'),
          message: z.string().describe('What is wrong, naming the account or transaction'),
        }),
      )
      .describe('At most 100 per check'),
    counts: z
      .object({
        accounts: z.number().int().describe('Ledger accounts'),
        transactions: z.number().int().describe('Ledger transactions'),
        entries: z.number().int().describe('Ledger entries'),
      })
      .describe('What was checked'),
    checkedAt: z.string().describe('When (ISO 8601 UTC)'),
  })
  .meta({ id: 'LedgerVerification', description: 'npm run ledger:verify, as the API runs it' });

const ordersView = z
  .object({
    items: z.array(
      z.object({
        orderReference: z.string().describe("The platform's order reference"),
        amount: moneySchema.describe('Order total spent from the wallet'),
        fromRestricted: moneySchema.describe('Paid from promotional credit'),
        fromAvailable: moneySchema.describe('Paid from the available balance'),
        refundedAvailable: moneySchema.describe('Refunded back to the available balance so far'),
        createdAt: z.string().describe('When (ISO 8601 UTC)'),
      }),
    ),
  })
  .meta({ id: 'SpendbackOrders', description: "A payee's spendback orders, newest first (at most 100)" });

const quoteQuery = z.strictObject({
  amount: moneySchema.shape.amount,
  currency: moneySchema.shape.currency,
  scale: z
    .string()
    .regex(/^[0-6]$/, "must be the currency's exponent, 0-6")
    .transform(Number)
    .describe("The currency's exponent (2 for USD)"),
});

const quoteView = z
  .object({
    amount: moneySchema.describe('Requested gross amount'),
    instant: z
      .object({
        available: z.boolean().describe('The payee opted in and the amount is within the instant limit'),
        fee: moneySchema.describe('Instant fee deducted from the amount'),
        net: moneySchema.describe('What reaches the destination before any tax withholding'),
      })
      .describe('If paid instantly'),
    scheduled: z
      .object({
        windowAt: z.string().describe('Next payout window (ISO 8601 UTC)'),
        net: moneySchema.describe('What reaches the destination before any tax withholding (no fee)'),
      })
      .describe('If paid in the next payout window'),
  })
  .meta({
    id: 'PayoutQuote',
    description:
      'What a payout would cost now; risk, compliance and provider availability decide the rail at request time',
  });

export interface ConsoleReadDeps {
  schema: string;
  store: PayoutStore;
  payees: PayeeService;
  payouts: Pick<PayoutsConfig, 'instantFees' | 'instantLimits' | 'calendar' | 'approvalThresholds'>;
  periods: Pick<PeriodService, 'closedPeriodIds'>;
  spendback: Pick<SpendbackService, 'listOrders'>;
  /** Period-close workflows (without it no period is listed as pending, and no period history is served). */
  periodGateway?: Pick<PeriodGateway, 'progress' | 'history'> | undefined;
}

const pendingView = z
  .object({
    items: z.array(
      z.object({
        payoutId: z.string().describe('Payout id'),
        payeeId: z.string().describe('Payee paid'),
        amount: moneySchema.describe('Gross amount'),
        method: z.string().describe('Payout method'),
        requestedBy: z.string().describe('Who requested it (may not approve it)'),
        createdAt: z.string().describe('When it was requested (ISO 8601 UTC)'),
        why: z.array(z.string()).describe('Why it needs approval: thresholds crossed, risk reasons'),
        approvalsRequired: z.number().int().describe('Distinct approvals needed (2 = dual control)'),
        approvedBy: z.array(z.string()).describe('Approvers who approved already'),
        callerMayDecide: z
          .boolean()
          .describe('False when the caller requested it or approved it already (the API would refuse)'),
        timer: z
          .object({ purpose: z.string(), at: z.string() })
          .nullable()
          .describe('Next deadline: approval timeout (escalation), then release'),
      }),
    ),
    periods: z
      .array(
        z.object({
          periodId: z.string().describe('Commission period id'),
          run: z.number().int().describe('Calculation run awaiting the decision'),
          payees: z.number().int().describe('Payees with a statement'),
          approvalsRequired: z.number().int().describe('Distinct approvals needed'),
          approvedBy: z.array(z.string()).describe('Approvers who approved this run already'),
          escalated: z.boolean().describe('The approval deadline passed and it was escalated'),
          callerMayDecide: z.boolean().describe('False when the caller closed it or approved it already'),
          timer: z
            .object({
              purpose: z.enum(['reminder', 'escalation']).describe('What the timer is for'),
              at: z.string().describe('When it fires (ISO 8601 UTC)'),
            })
            .nullable()
            .describe('Next deadline while approval is awaited: the reminder, then the escalation'),
        }),
      )
      .describe('Closed periods whose calculation waits for approval'),
  })
  .meta({ id: 'PendingApprovals', description: 'Payouts and periods waiting for an approver, oldest first' });

export function consoleReadRoutes(deps: ConsoleReadDeps): Route[] {
  const idParams = z.strictObject({ id: payoutIdSchema });
  const staff = ['platform', 'operator', 'approver'] as const;
  async function pendingPeriods(ctx: { principal: { actor: string } }) {
    const gateway = deps.periodGateway;
    if (!gateway) return [];
    const ids = await deps.periods.closedPeriodIds(100);
    const out = [];
    for (const id of ids) {
      const p = await gateway.progress(id).catch(() => undefined);
      if (p?.stage !== 'awaiting_approval') continue;
      const approvedBy = p.approvals
        .filter((a) => a.decision === 'approve' && a.run === p.run)
        .map((a) => a.actor);
      out.push({
        periodId: id,
        run: p.run,
        payees: p.calculation.payees,
        approvalsRequired: p.approvalsRequired,
        approvedBy,
        escalated: p.escalated,
        callerMayDecide: p.closedBy !== ctx.principal.actor && !approvedBy.includes(ctx.principal.actor),
        timer: p.nextTimer ?? null,
      });
    }
    return out;
  }
  const gateway = deps.periodGateway;
  const periodHistory = gateway
    ? [
        defineRoute({
          method: 'get',
          path: '/v1/periods/:id/history',
          summary: "A period-close workflow's history (events, paged)",
          description:
            'Read through the Temporal client, as GET /v1/payouts/{id}/history: the same on the embedded ' +
            'server and a real cluster; inputs, results and search attribute values are never shown.',
          tags: ['periods'],
          roles: [...staff],
          params: z.strictObject({ id: periodIdSchema }),
          query: historyQuery,
          responses: {
            200: { description: 'A page of events', schema: periodHistoryView },
            404: { description: 'The period was never closed' },
          },
          handler: async (ctx) => {
            const events = await gateway.history(ctx.params.id);
            if (!events) throw new ApiError('not_found', `Period ${ctx.params.id} has not been closed`);
            const page = {
              limit: ctx.query.limit ?? 50,
              ...(ctx.query.cursor ? { fromEventId: ctx.query.cursor } : {}),
            };
            return {
              status: 200,
              body: {
                periodId: ctx.params.id,
                workflowId: periodWorkflowId(ctx.params.id),
                ...historyPage(events, page),
              },
            };
          },
        }),
      ]
    : [];
  return [
    ...periodHistory,
    defineRoute({
      method: 'get',
      path: '/v1/approvals/pending',
      summary: 'Payouts waiting for a decision: why, who approved already, time left',
      tags: ['payouts'],
      roles: [...staff],
      responses: { 200: { description: 'Pending approvals', schema: pendingView } },
      handler: async (ctx) => {
        const items = await pendingApprovals(ctx.em, deps.schema, {
          thresholds: deps.payouts.approvalThresholds,
          caller: ctx.principal.actor,
        });
        return { status: 200, body: { items, periods: await pendingPeriods(ctx) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/ledger/verify',
      summary: 'Check every ledger invariant now (as npm run ledger:verify)',
      description: 'Reads every account, transaction and entry: an operator tool, not for polling.',
      tags: ['ledger'],
      roles: ['operator'],
      responses: { 200: { description: 'The verification report', schema: verifyView } },
      handler: async (ctx) => ({
        status: 200,
        body: { ...(await verifyLedger(ctx.em, deps.schema)), checkedAt: ctx.now.toISOString() },
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/whoami',
      summary: 'The role and actor of the credential sent',
      tags: ['meta'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      responses: { 200: { description: 'The caller', schema: whoamiView } },
      handler: async ({ principal: p }) => ({
        status: 200,
        body: { role: p.role, actor: p.actor, payeeId: p.kind === 'payee_token' ? p.payeeId : null },
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payouts/:id/audit',
      summary: "A payout's audit entries (human actions on it)",
      tags: ['payouts'],
      roles: [...staff],
      params: idParams,
      responses: { 200: { description: 'Audit entries, oldest first', schema: auditView } },
      handler: async (ctx) => {
        if (!(await deps.store.get(ctx.em, ctx.params.id))) {
          throw new ApiError('not_found', `Payout ${ctx.params.id} not found`);
        }
        return { status: 200, body: { items: await payoutAuditEntries(ctx.em, ctx.params.id) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payouts/:id/webhooks',
      summary: 'Webhook events a payout emitted (its state timeline) and their delivery',
      tags: ['payouts'],
      roles: [...staff],
      params: idParams,
      responses: { 200: { description: 'Events, oldest first', schema: webhookView } },
      handler: async (ctx) => {
        if (!(await deps.store.get(ctx.em, ctx.params.id))) {
          throw new ApiError('not_found', `Payout ${ctx.params.id} not found`);
        }
        return {
          status: 200,
          body: { items: await payoutWebhookEvents(ctx.em, deps.schema, ctx.params.id) },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payees/:id/spendback-orders',
      summary: "A payee's spendback orders (newest first, at most 100)",
      tags: ['spendback'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      params: z.strictObject({ id: payeeIdSchema }),
      payeeParam: 'id',
      responses: { 200: { description: 'The orders', schema: ordersView } },
      handler: async (ctx) => {
        await deps.payees.get(ctx.em, ctx.params.id);
        return { status: 200, body: { items: await deps.spendback.listOrders(ctx.em, ctx.params.id, 100) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payees/:id/payout-quote',
      summary: 'What a payout of this amount would cost, instant or in the next window',
      tags: ['payouts'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      params: z.strictObject({ id: payeeIdSchema }),
      payeeParam: 'id',
      query: quoteQuery,
      responses: { 200: { description: 'The quote', schema: quoteView } },
      handler: async (ctx) => {
        const payee = await deps.payees.get(ctx.em, ctx.params.id);
        const amount = parseMoney(
          { amount: ctx.query.amount, currency: ctx.query.currency, scale: ctx.query.scale },
          { field: 'amount', allowZero: false },
        );
        const gross = BigInt(amount.amount);
        const fee = computeInstantFee(gross, deps.payouts.instantFees[amount.currency]);
        const capped = fee < gross ? fee : gross;
        const limit = deps.payouts.instantLimits[amount.currency];
        const wire = (v: bigint) => ({
          amount: v.toString(),
          currency: amount.currency,
          scale: amount.scale,
        });
        return {
          status: 200,
          body: {
            amount: wire(gross),
            instant: {
              available: payee.payoutPreferences.instantOptIn && (limit === undefined || gross <= limit),
              fee: wire(capped),
              net: wire(gross - capped),
            },
            scheduled: {
              windowAt: nextPayoutWindow(ctx.now, deps.payouts.calendar).toISOString(),
              net: wire(gross),
            },
          },
        };
      },
    }),
  ];
}
