// Spendback purchases and refunds, promotional credit grants and rule firings of a payee.
import { z } from 'zod';
import { ApiError } from '../../http/errors.ts';
import { parseMoney } from '../../money/index.ts';
import { payeeIdSchema } from '../../payees/schemas.ts';
import type { PayeeService } from '../../payees/service.ts';
import type { SpendbackService } from '../../spendback/service.ts';
import type { GrantTimers } from '../../spendback/timers.ts';
import { defineRoute, type Route, type RouteContext } from '../route.ts';
import { moneySchema } from '../schemas/money.ts';

const reference = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,120}$/, 'must be 1-120 characters of letters, digits and . _ : -')
    .describe(what);

const positiveMoney = moneySchema.describe('Positive amount in minor units');

const spendBody = z
  .strictObject({
    orderReference: reference("The platform's order id; an order is paid at most once per payee"),
    amount: positiveMoney,
  })
  .meta({ id: 'SpendbackRequest', description: 'A purchase paid from the payee wallet' });

const discountView = z
  .object({
    ruleId: z.string().describe('Rule that earned the discount'),
    ruleVersion: z.string().describe('Version of the rules document'),
    percent: z.string().describe('Discount percentage, e.g. "10.00"'),
    period: z.string().describe('Period in which the sales threshold was reached'),
  })
  .meta({
    id: 'NextPurchaseDiscount',
    description: 'Discount the storefront should apply to the next purchase',
  });

export const spendView = z
  .object({
    payeeId: z.string().describe('Payee'),
    orderReference: z.string().describe('Order id'),
    amount: moneySchema.describe('Order amount'),
    fromRestricted: moneySchema.describe('Paid from promotional credit'),
    fromAvailable: moneySchema.describe('Paid from available earnings'),
    grants: z
      .array(
        z.object({ grantId: z.string().describe('Grant'), amount: moneySchema.describe('Spent from it') }),
      )
      .describe('Grants used, soonest expiry first'),
    refunded: moneySchema.describe('Refunded so far'),
    transactionId: z.string().describe('Ledger transaction id'),
    bonusGrantId: z.string().nullable().describe('Spendback bonus grant earned by this purchase'),
    nextPurchaseDiscount: discountView.nullable().describe('Earned discount reported with this purchase'),
    replayed: z.boolean().describe('True when this order had already been paid (nothing new posted)'),
    createdAt: z.string().describe('When the order was paid'),
  })
  .meta({ id: 'Spendback', description: 'A spendback purchase' });

const refundBody = z
  .strictObject({
    refundReference: reference("The platform's refund id; each refund of an order is made once"),
    amount: positiveMoney,
  })
  .meta({ id: 'SpendbackRefundRequest', description: 'A partial or full refund of a spendback order' });

export const refundView = z
  .object({
    payeeId: z.string().describe('Payee'),
    orderReference: z.string().describe('Order refunded'),
    refundReference: z.string().describe('Refund id'),
    amount: moneySchema.describe('Refunded amount'),
    toAvailable: moneySchema.describe('Back to available earnings'),
    toRestricted: moneySchema.describe('Back to the promotional credit grants it came from'),
    toPlatform: moneySchema.describe('Credit whose grant had expired, returned to the platform'),
    bonusClawedBack: moneySchema.describe(
      'Spendback bonus taken back (from its grant) because the purchase that earned it was refunded',
    ),
    transactionId: z.string().describe('Ledger transaction id'),
    replayed: z.boolean().describe('True when this refund had already been made'),
    createdAt: z.string().describe('When the refund was made'),
  })
  .meta({ id: 'SpendbackRefund', description: 'A refund of a spendback order' });

const grantBody = z
  .strictObject({
    amount: positiveMoney,
    reference: reference("The platform's id for this grant; a payee gets one grant per reference"),
    expiresAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Expiry (default: the configured validity)'),
    reason: z.string().min(1).max(200).optional().describe('Why the credit is granted'),
  })
  .meta({ id: 'CreditGrantRequest', description: 'A promotional credit grant (spendback only, expires)' });

export const grantView = z
  .object({
    id: z.string().describe('Grant id (its expiry workflow is credit-grant-<id>)'),
    payeeId: z.string().describe('Payee'),
    reference: z.string().describe('Business reference (rule:<id>:<occasion> for automated grants)'),
    amount: moneySchema.describe('Granted'),
    remaining: moneySchema.describe('Left to spend'),
    status: z.enum(['active', 'expired']).describe('active until expiry'),
    source: z.enum(['manual', 'rule']).describe('Granted by the platform or by an automated rule'),
    ruleId: z.string().nullable().describe('Rule that granted it'),
    ruleVersion: z.string().nullable().describe('Version of the rules document'),
    reason: z.string().nullable().describe('Why'),
    expiresAt: z.string().describe('Expiry (ISO 8601)'),
    expiredAt: z.string().nullable().describe('When the expiry ran'),
    expiredAmount: moneySchema.nullable().describe('Unspent remainder returned to the platform at expiry'),
    createdAt: z.string().describe('Granted at'),
  })
  .meta({ id: 'CreditGrant', description: 'A promotional credit grant' });

const grantResult = grantView.extend({
  replayed: z.boolean().describe('True when this reference was granted before'),
});

const grantList = z
  .object({
    payeeId: z.string().describe('Payee'),
    grants: z.array(grantView).describe('Active grants first, soonest expiry first'),
    firings: z
      .array(
        z.object({
          ruleId: z.string().describe('Rule'),
          kind: z.string().describe('Rule kind'),
          ruleVersion: z.string().describe('Rules version that fired'),
          period: z.string().describe('Period'),
          occasion: z.string().describe('Period, or order:<reference> for per-order bonuses'),
          basis: moneySchema.describe('Earnings or purchase amount the rule was evaluated on'),
          grantId: z.string().nullable().describe('Grant it created'),
          discountPercent: z.string().nullable().describe('Discount it earned'),
          reportedWithOrder: z.string().nullable().describe('Order whose response reported the discount'),
          firedAt: z.string().describe('When'),
        }),
      )
      .describe('Automated rule firings, newest first'),
  })
  .meta({ id: 'CreditGrants', description: "A payee's promotional credit grants and rule firings" });

const payeeParams = z.strictObject({ id: payeeIdSchema });

async function requirePayee(payees: PayeeService, ctx: RouteContext<{ id: string }, unknown, unknown>) {
  if (!(await payees.exists(ctx.em, ctx.params.id)))
    throw new ApiError('not_found', `Payee ${ctx.params.id} not found`);
}

export function spendbackRoutes(deps: {
  spendback: SpendbackService;
  payees: PayeeService;
  timers?: GrantTimers | undefined;
}): Route[] {
  const { spendback, payees, timers } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/payees/:id/spendback',
      summary: 'Pay an order from the wallet: promotional credit first, then available earnings',
      tags: ['spendback'],
      roles: ['platform', 'payee'],
      payeeParam: 'id',
      params: payeeParams,
      body: spendBody,
      responses: {
        201: { description: 'Paid', schema: spendView },
        200: { description: 'This order was already paid with the same amount', schema: spendView },
      },
      handler: async (ctx) => {
        const amount = parseMoney(ctx.body.amount, { field: 'amount', allowZero: false });
        await requirePayee(payees, ctx);
        const result = await spendback.spend(
          ctx.em,
          { payeeId: ctx.params.id, orderReference: ctx.body.orderReference, amount },
          timers,
        );
        if (!result.replayed) {
          await ctx.audit({
            action: 'payee.spendback',
            objectType: 'payee',
            objectId: ctx.params.id,
            details: {
              orderReference: ctx.body.orderReference,
              amount,
              transactionId: result.view.transactionId,
            },
          });
        }
        return { status: result.replayed ? 200 : 201, body: { ...result.view, replayed: result.replayed } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payees/:id/spendback/:orderReference',
      summary: 'A spendback order and how it was paid',
      tags: ['spendback'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      payeeParam: 'id',
      params: z.strictObject({ id: payeeIdSchema, orderReference: reference('Order id') }),
      responses: { 200: { description: 'The order', schema: spendView } },
      handler: async (ctx) => {
        const view = await spendback.getOrder(ctx.em, ctx.params.id, ctx.params.orderReference);
        if (!view) throw new ApiError('not_found', `No spendback order ${ctx.params.orderReference}`);
        return { status: 200, body: { ...view, replayed: false } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payees/:id/spendback/:orderReference/refunds',
      summary: 'Refund part or all of a spendback order back to the balances it came from',
      tags: ['spendback'],
      roles: ['platform'],
      payeeParam: 'id',
      params: z.strictObject({ id: payeeIdSchema, orderReference: reference('Order id') }),
      body: refundBody,
      responses: {
        201: { description: 'Refunded', schema: refundView },
        200: { description: 'This refund was already made', schema: refundView },
      },
      handler: async (ctx) => {
        const amount = parseMoney(ctx.body.amount, { field: 'amount', allowZero: false });
        await requirePayee(payees, ctx);
        const result = await spendback.refund(
          ctx.em,
          {
            payeeId: ctx.params.id,
            orderReference: ctx.params.orderReference,
            refundReference: ctx.body.refundReference,
            amount,
          },
          timers,
        );
        if (!result.replayed) {
          await ctx.audit({
            action: 'payee.spendback_refund',
            objectType: 'payee',
            objectId: ctx.params.id,
            details: {
              orderReference: ctx.params.orderReference,
              refundReference: ctx.body.refundReference,
              amount,
            },
          });
        }
        return { status: result.replayed ? 200 : 201, body: { ...result.view, replayed: result.replayed } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payees/:id/credits/grants',
      summary: 'Grant promotional credit (spendback only, expires on a durable timer)',
      tags: ['spendback'],
      roles: ['platform'],
      payeeParam: 'id',
      params: payeeParams,
      body: grantBody,
      responses: {
        201: { description: 'Granted', schema: grantResult },
        200: { description: 'This reference was already granted', schema: grantResult },
      },
      handler: async (ctx) => {
        const amount = parseMoney(ctx.body.amount, { field: 'amount', allowZero: false });
        await requirePayee(payees, ctx);
        const result = await spendback.grant(
          ctx.em,
          {
            payeeId: ctx.params.id,
            amount,
            reference: ctx.body.reference,
            ...(ctx.body.expiresAt ? { expiresAt: new Date(ctx.body.expiresAt) } : {}),
            ...(ctx.body.reason ? { reason: ctx.body.reason } : {}),
          },
          timers,
        );
        if (!result.replayed) {
          await ctx.audit({
            action: 'payee.credit_grant',
            objectType: 'payee',
            objectId: ctx.params.id,
            details: { grantId: result.grant.id, amount, expiresAt: result.grant.expiresAt },
          });
        }
        return { status: result.replayed ? 200 : 201, body: { ...result.grant, replayed: result.replayed } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payees/:id/credits/grants',
      summary: 'Promotional credit grants with remaining amounts and expiry, and automated rule firings',
      tags: ['spendback'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      payeeParam: 'id',
      params: payeeParams,
      query: z.strictObject({
        status: z.enum(['active', 'expired']).optional().describe('Only grants in this state'),
      }),
      responses: { 200: { description: 'The grants', schema: grantList } },
      handler: async (ctx) => {
        await requirePayee(payees, ctx);
        return {
          status: 200,
          body: {
            payeeId: ctx.params.id,
            grants: await spendback.listGrants(ctx.em, ctx.params.id, ctx.query.status),
            firings: await spendback.listFirings(ctx.em, ctx.params.id),
          },
        };
      },
    }),
  ];
}
