// Wallet (balances + history from the ledger) and platform credits of earnings.
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { ApiError } from '../../http/errors.ts';
import type { Ledger } from '../../ledger/index.ts';
import { parseMoney } from '../../money/index.ts';
import { payeeIdSchema } from '../../payees/schemas.ts';
import type { PayeeService } from '../../payees/service.ts';
import { defineRoute, type Route } from '../route.ts';
import { moneySchema } from '../schemas/money.ts';
import { ledgerCursor, pageLimit } from '../schemas/pagination.ts';

const walletAccounts = ['available', 'held', 'restricted', 'receivable'] as const;

const walletQuery = z.strictObject({
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code')
    .optional()
    .describe("Currency of the transaction list (default: the payee's default currency)"),
  account: z
    .enum(walletAccounts)
    .optional()
    .describe('Wallet account whose transactions to list (default available)'),
  cursor: ledgerCursor.optional(),
  limit: pageLimit,
});

const walletView = z
  .object({
    payeeId: z.string().describe('Payee id'),
    balances: z
      .array(
        z
          .object({
            currency: z.string().describe('ISO 4217 code'),
            available: moneySchema.describe('Spendable and payable out'),
            held: moneySchema.describe('Held for in-flight payouts'),
            restricted: moneySchema.describe('Promotional credit, spendback only'),
            receivable: moneySchema.describe('Negative carry-forward netted against future earnings'),
          })
          .describe('Balances in one currency'),
      )
      .describe('Balances per currency and account'),
    transactions: z
      .object({
        account: z.enum(walletAccounts).describe('Account listed'),
        currency: z.string().describe('Currency listed'),
        entries: z
          .array(
            z
              .object({
                entryId: z.string().describe('Ledger entry id'),
                transactionId: z.string().describe('Ledger transaction id'),
                type: z
                  .string()
                  .describe('What the transaction represents, e.g. earnings.credit, payout.hold'),
                amount: moneySchema.describe('Signed change of this account (negative = debit)'),
                reference: z.string().nullable().describe('Platform reference, when the transaction has one'),
                createdAt: z.string().describe('Posting time (ISO 8601)'),
              })
              .describe('One movement of the account'),
          )
          .describe('Newest first'),
        nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null at the end'),
      })
      .describe('Transaction history of one account'),
  })
  .meta({ id: 'Wallet', description: "A payee's balances and account history" });

const creditBody = z
  .strictObject({
    amount: moneySchema.describe('Positive amount to credit'),
    reference: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,120}$/, 'must be 1-120 characters of letters, digits and . _ : -')
      .describe("The platform's id for these earnings; a reference is credited at most once per payee"),
    description: z.string().max(200).optional().describe('Free text shown in the wallet history'),
  })
  .meta({ id: 'CreditEarnings', description: 'Earnings to credit to a payee wallet' });

const creditView = z
  .object({
    transactionId: z.string().describe('Ledger transaction id'),
    payeeId: z.string().describe('Payee credited'),
    amount: moneySchema.describe('Amount credited'),
    reference: z.string().describe('Platform reference'),
    replayed: z.boolean().describe('True when this reference had already been credited (nothing new posted)'),
    createdAt: z.string().describe('Posting time'),
  })
  .meta({ id: 'Credit', description: 'A posted earnings credit' });

/** Runs in the credit's transaction after it posted (e.g. spendback rules); must be idempotent. */
export type EarningsCreditedHook = (
  em: EntityManager,
  credit: { payeeId: string; currency: string; transactionId: string },
) => Promise<unknown>;

export function walletRoutes(deps: {
  payees: PayeeService;
  ledger: Ledger;
  onEarningsCredited?: EarningsCreditedHook | undefined;
}): Route[] {
  const { payees, ledger, onEarningsCredited } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/v1/payees/:id/wallet',
      summary: 'Wallet balances and paginated account history',
      tags: ['wallets'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      payeeParam: 'id',
      params: z.strictObject({ id: payeeIdSchema }),
      query: walletQuery,
      responses: { 200: { description: 'The wallet', schema: walletView } },
      handler: async (ctx) => {
        const payee = await payees.get(ctx.em, ctx.params.id);
        const currency = ctx.query.currency ?? payee.defaultCurrency;
        const account = ctx.query.account ?? 'available';
        const l = ledger.within(ctx.em);
        const balances = await l.balances(payee.id);
        const history = await l.accountHistory(
          { kind: `payee_${account}`, owner: payee.id, currency },
          { cursor: ctx.query.cursor ?? null, limit: ctx.query.limit ?? 50 },
        );
        return {
          status: 200,
          body: {
            payeeId: payee.id,
            balances,
            transactions: {
              account,
              currency,
              entries: history.entries.map((e) => ({
                entryId: e.entryId,
                transactionId: e.transactionId,
                type: e.type,
                amount: e.amount,
                reference: typeof e.metadata.reference === 'string' ? e.metadata.reference : null,
                createdAt: e.createdAt,
              })),
              nextCursor: history.nextCursor,
            },
          },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payees/:id/credits',
      summary: 'Credit earnings to a payee wallet (once per reference)',
      tags: ['wallets'],
      roles: ['platform'],
      payeeParam: 'id',
      params: z.strictObject({ id: payeeIdSchema }),
      body: creditBody,
      responses: {
        201: { description: 'Credited', schema: creditView },
        200: { description: 'This reference was already credited with the same amount', schema: creditView },
      },
      handler: async (ctx) => {
        const amount = parseMoney(ctx.body.amount, { field: 'amount', allowZero: false });
        if (!(await payees.exists(ctx.em, ctx.params.id))) {
          throw new ApiError('not_found', `Payee ${ctx.params.id} not found`);
        }
        const posted = await ledger.within(ctx.em).creditEarnings({
          payeeId: ctx.params.id,
          amount,
          idempotencyKey: `earnings-credit:${ctx.params.id}:${ctx.body.reference}`,
          metadata: {
            reference: ctx.body.reference,
            ...(ctx.body.description ? { description: ctx.body.description } : {}),
          },
        });
        await onEarningsCredited?.(ctx.em, {
          payeeId: ctx.params.id,
          currency: amount.currency,
          transactionId: posted.id,
        });
        if (!posted.replayed) {
          await ctx.audit({
            action: 'payee.credit',
            objectType: 'payee',
            objectId: ctx.params.id,
            details: { reference: ctx.body.reference, amount, transactionId: posted.id },
          });
        }
        return {
          status: posted.replayed ? 200 : 201,
          body: {
            transactionId: posted.id,
            payeeId: ctx.params.id,
            amount,
            reference: ctx.body.reference,
            replayed: posted.replayed,
            createdAt: posted.createdAt,
          },
        };
      },
    }),
  ];
}
