// Request and response schemas of the payout routes (validation and OpenAPI from the same definitions).
import { z } from 'zod';
import { payeeIdSchema } from '../../payees/schemas.ts';
import { PAYOUT_STATES } from '../../payouts/state.ts';
import { LEDGER_STEPS } from '../../payouts/views.ts';
import { moneySchema } from '../schemas/money.ts';

export const payoutMethods = ['bank_transfer', 'wallet', 'card', 'crypto'] as const;
/** The states a payout passes through (src/payouts/state.ts), as the API documents them. */
export const payoutStates = PAYOUT_STATES;

export const payoutIdSchema = z
  .string()
  .regex(/^po_[a-z0-9]{8,64}$/, 'must be a payout id such as po_3f9a…')
  .meta({ description: 'Payout id', examples: ['po_01hzx8k2m3n4p5q6'] });

const reasonText = z
  .string()
  .trim()
  .min(3)
  .max(500)
  .describe('Why (kept in the audit log and workflow history)');
const totpCode = z
  .string()
  .regex(/^\d{6}$/, 'must be the 6-digit code of your authenticator')
  .describe('TOTP code');

export const createPayoutBody = z
  .strictObject({
    payeeId: payeeIdSchema,
    amount: moneySchema.describe(
      'Gross amount to pay out of the wallet (fees and withholding come out of it)',
    ),
    method: z
      .enum(payoutMethods)
      .optional()
      .describe("Payout method (default: the payee's preferred destination kind)"),
    instant: z
      .boolean()
      .optional()
      .describe(
        'Ask for instant payout (default true); granted only when opted in, supported and risk-clear',
      ),
    periodId: z
      .string()
      .regex(/^[\w.:-]{1,100}$/)
      .optional()
      .describe('Commission period this payout belongs to'),
  })
  .meta({ id: 'CreatePayout', description: 'A payout request' });

export const decisionBody = z
  .strictObject({ reason: reasonText, totp: totpCode })
  .meta({ id: 'PayoutDecision', description: 'An approver decision, confirmed with a TOTP code' });

export const reasonBody = z.strictObject({ reason: reasonText }).meta({
  id: 'PayoutReason',
  description: 'An operator action on a payout with its reason',
});

export const resolveBody = z
  .strictObject({
    outcome: z.enum(['paid', 'not_paid']).describe('What the provider did, established out of band'),
    reason: reasonText,
    force: z
      .boolean()
      .optional()
      .describe(
        'With not_paid: fail over without first cancelling the attempt at the provider. Only when the provider ' +
          'has confirmed it will never pay it (e.g. its cancel API is unreachable or the provider is gone)',
      ),
  })
  .meta({ id: 'ResolveUnknownOutcome', description: "Operator's verdict on an unknown provider outcome" });

export const bulkBody = z
  .strictObject({
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code')
      .describe('Currency of the wallets to pay out'),
    method: z.enum(payoutMethods).describe('Payout method; payees without such a destination are skipped'),
    minBalance: z
      .string()
      .regex(/^\d{1,19}$/, 'must be integer minor units as a string')
      .optional()
      .describe('Only payees whose available balance is at least this (minor units; default 1)'),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code')
      .optional()
      .describe('Only payees of this country'),
    excludePayeeIds: z.array(payeeIdSchema).max(10_000).optional().describe('Payees never included'),
    instant: z.boolean().optional().describe('Ask for instant payouts (default false: next payout window)'),
    limit: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .optional()
      .describe('At most this many payouts (default 10,000)'),
  })
  .meta({ id: 'BulkPayout', description: 'Company-initiated payouts of the full available balance' });

// Shared with the webhook payloads (src/api/webhook-events.ts): one schema per part of a payout's status.
export const reasonView = z
  .object({ code: z.string().describe('Stable reason code'), message: z.string().describe('Explanation') })
  .describe('A reason');

export const approvalView = z
  .object({
    actor: z.string().describe('Approver'),
    decision: z.enum(['approve', 'reject']).describe('Decision'),
    reason: z.string().describe('Reason given'),
    at: z.string().describe('When (ISO 8601)'),
  })
  .describe('An approval decision');

export const attemptView = z
  .object({
    attemptNo: z.number().int().describe('1-based attempt number'),
    provider: z.string().describe('Provider'),
    idempotencyKey: z.string().describe('Key sent to the provider (payout id + attempt number)'),
    outcome: z
      .enum(['submitting', 'pending', 'paid', 'declined', 'outage', 'failed', 'unknown', 'not_paid'])
      .describe('Outcome so far'),
    detail: z.string().optional().describe('Provider message (not shown to payee tokens)'),
  })
  .describe('A provider attempt');

export const timerView = z.object({
  purpose: z.string().describe('What the timer is for'),
  at: z.string().describe('When it fires (ISO 8601)'),
});

export const payoutView = z
  .object({
    id: payoutIdSchema,
    payeeId: z.string().describe('Payee paid'),
    amount: moneySchema.describe('Gross amount'),
    method: z.enum(payoutMethods).describe('Payout method'),
    state: z.enum(payoutStates).describe('Current state'),
    rail: z.enum(['instant', 'scheduled']).nullable().describe('Instant, or scheduled into a payout window'),
    provider: z.string().nullable().describe('Provider of the latest attempt'),
    fee: moneySchema.describe('Instant fee (own ledger leg)'),
    withholding: moneySchema.describe('Tax withheld (own ledger leg)'),
    periodId: z.string().nullable().describe('Commission period'),
    bulkId: z.string().nullable().describe('Bulk request that created it'),
    requestedBy: z.string().optional().describe('Actor who requested it (not shown to payee tokens)'),
    approvalsRequired: z.number().int().describe('Distinct approvals needed'),
    approvals: z.array(approvalView).optional().describe('Decisions so far (not shown to payee tokens)'),
    attempts: z.array(attemptView).describe('Provider attempts, in order'),
    reasons: z
      .array(reasonView)
      .describe(
        'Why the payout is where it is (holds, risk flags, routing); payee tokens see public reasons only, ' +
          'with reviews as under_review',
      ),
    nextTimer: timerView.nullable().describe('The durable timer the payout waits on, if any'),
    ledger: z
      .array(
        z
          .object({
            step: z
              .enum(LEDGER_STEPS)
              .describe(
                "Ledger step (fx, fx_return: the provider's own currency conversion and its return; network_fee: " +
                  "what the provider charged beside the payout, e.g. Circle's network fee, the platform's expense; " +
                  "network_fee_payee, network_fee_payee_fx: that fee recovered from the payee's wallet when the " +
                  "payee bears it, and its FX legs into the fee's asset)",
              ),
            transactionId: z.string().describe('Ledger transaction id'),
            at: z.string().describe('Posting time'),
          })
          .describe('A ledger transaction of this payout'),
      )
      .describe('Ledger transactions posted for this payout'),
    live: z
      .boolean()
      .describe(
        "True when the state is the workflow's answer to this request's decision; false when read from the payout's record (GET)",
      ),
    createdAt: z.string().describe('Creation time'),
    updatedAt: z.string().describe('Last committed change'),
  })
  .meta({ id: 'Payout', description: 'A payout and its state' });

export const payoutListView = z
  .object({
    items: z.array(payoutView).describe('Newest first'),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null at the end'),
  })
  .meta({ id: 'PayoutList', description: 'A page of payouts' });

export const bulkIdSchema = z
  .string()
  .regex(/^bulk_[a-z0-9]{8,64}$/, 'must be a bulk id such as bulk_3f9a…')
  .describe('Bulk request id');

const bulkCancellation = z
  .object({
    by: z.object({ actor: z.string(), role: z.string() }),
    reason: z.string(),
    at: z.string().describe('When it was asked for (ISO 8601)'),
    dropped: z.number().int().optional().describe('Payouts not started yet, moved to the skipped list'),
    refused: z
      .number()
      .int()
      .optional()
      .describe('Started payouts past cancelling (already with a provider): they run to their end'),
  })
  .describe('A cancel of the whole bulk');

export const bulkStatusView = z
  .object({
    bulkId: z.string().describe('Id of this bulk request (filter GET /v1/payouts?bulkId=)'),
    status: z
      .enum(['running', 'completed'])
      .describe('running: payouts are being started or are in flight; completed: none is in flight any more'),
    criteria: z.record(z.string(), z.unknown()).describe('The request as it was accepted'),
    requestedBy: z.object({ actor: z.string(), role: z.string() }).describe('Who asked for it'),
    createdAt: z.string().describe('When it was accepted (ISO 8601)'),
    updatedAt: z.string().describe('Last change of its status (ISO 8601)'),
    payouts: z
      .object({
        total: z.number().int().describe('Payouts this bulk makes'),
        started: z.number().int().describe('Payouts whose workflow has started'),
        byState: z
          .record(z.string(), z.number().int())
          .describe('Payouts per state now (not_started: still queued for a free slot)'),
      })
      .describe('How its payouts stand'),
    skipped: z
      .array(z.object({ payeeId: z.string(), reason: z.string() }).describe('A payee left out'))
      .describe('Matching payees left out (or dropped by a cancel), with why'),
    cancellation: bulkCancellation
      .nullable()
      .describe(
        'The cancel of the whole bulk, once asked for (dropped/refused once carried out); null if none',
      ),
    summary: z
      .object({
        bulkId: z.string(),
        payouts: z.record(z.string(), z.number().int()),
        total: z.number().int(),
        skipped: z.number().int(),
        cancellation: bulkCancellation.optional(),
      })
      .nullable()
      .describe(
        'Payouts per state when the bulk completed (also sent as payout.bulk_completed); null before',
      ),
  })
  .meta({ id: 'BulkPayoutStatus', description: 'A bulk payout request and how its payouts stand' });

export const bulkView = bulkStatusView
  .extend({
    created: z
      .array(
        z
          .object({ payoutId: z.string(), payeeId: z.string(), amount: moneySchema })
          .describe('A payout of this bulk'),
      )
      .describe(
        'Every payout this bulk makes, in the order they are started (each is listed by GET /v1/payouts/{id} once started)',
      ),
  })
  .meta({
    id: 'BulkPayoutResult',
    description: 'A bulk payout request as accepted, with every payout it makes',
  });
