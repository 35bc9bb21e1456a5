// Outbound webhook events: every type the outbox emits and the zod schema of its payload. The OpenAPI
// document's `webhooks` section is generated from these, and test/webhooks/event-schemas.test.ts checks
// real emitted events against them, so the documentation cannot drift from what endpoints receive.
import { z } from 'zod';
import type { BulkSummary } from '../../workflows/bulk-contract.ts';
import type { PayoutStateDoc } from '../payouts/state.ts';
import { PAYOUT_WEBHOOK_EVENTS } from '../webhooks/events.ts';
import { approvalView, attemptView, payoutStates, reasonView, timerView } from './routes/payout-schemas.ts';
import { grantView, refundView, spendView } from './routes/spendback.ts';
import { moneySchema } from './schemas/money.ts';
import { periodCompletionSummarySchema, periodProblemSchema } from './schemas/period.ts';

type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;

/** The payout workflow's state doc (src/payouts/state.ts PayoutStateDoc) as it is committed with the event. */
export const payoutStateDocSchema = z
  .object({
    payoutId: z.string().describe('Payout id'),
    payeeId: z.string().describe('Payee id'),
    state: z.enum(payoutStates).describe('State after this event'),
    amount: moneySchema.describe('Requested amount'),
    rail: z.enum(['instant', 'scheduled']).optional().describe('Rail chosen'),
    provider: z.string().optional().describe('Provider of the current attempt'),
    attempts: z.array(attemptView).describe('Provider attempts, oldest first'),
    approvals: z.array(approvalView).describe('Approval decisions'),
    approvalsRequired: z.number().int().describe('Distinct approvals required'),
    reasons: z.array(reasonView).describe('Why the payout is where it is'),
    nextTimer: timerView.optional().describe('The next timer of the workflow'),
    fee: moneySchema.optional().describe('Fee charged to the payee'),
    withholding: moneySchema.optional().describe('Tax withheld'),
  })
  .meta({
    id: 'PayoutStateDoc',
    description: "The payout workflow's state doc when the event was committed",
  });
const _payoutMatches: Exact<z.output<typeof payoutStateDocSchema>, PayoutStateDoc> = true;

export const bulkSummarySchema = z
  .object({
    bulkId: z.string().describe('Bulk request id'),
    payouts: z.record(z.string(), z.number().int()).describe('Payouts by state'),
    total: z.number().int().describe('Payouts started'),
    skipped: z.number().int().describe('Payees skipped'),
    cancellation: z
      .object({
        by: z
          .object({
            actor: z.string().describe('Who'),
            role: z.enum(['platform', 'approver', 'operator', 'payee']).describe('Their role'),
          })
          .describe('Who'),
        reason: z.string().describe('Why'),
        at: z.string().describe('When (ISO 8601)'),
        dropped: z.number().int().optional().describe('Payouts not started, moved to skipped'),
        refused: z.number().int().optional().describe('Started payouts past cancelling'),
      })
      .optional()
      .describe('A cancel of the whole bulk'),
  })
  .meta({
    id: 'BulkPayoutSummary',
    description: 'How the payouts of a bulk request stand when it completed',
  });
const _bulkMatches: Exact<z.output<typeof bulkSummarySchema>, BulkSummary> = true;
void [_payoutMatches, _bulkMatches];

const payoutData = z
  .object({ payout: payoutStateDocSchema })
  .meta({ id: 'PayoutEventData', description: 'The payout the event is about' });
const grantData = z
  .object({ grant: grantView })
  .meta({ id: 'CreditGrantEventData', description: 'The credit grant the event is about' });
const approvalNotice = z
  .object({
    periodId: z.string().describe('Period awaiting approval'),
    count: z.number().int().min(1).describe('How many reminders (or escalations) so far'),
  })
  .meta({ id: 'PeriodApprovalNotice', description: 'A period still awaiting approval' });

/** The payout events from their typed catalogue: the state each enters, or that it is a notice. */
const payoutEvents = Object.entries(PAYOUT_WEBHOOK_EVENTS).map(([type, spec]) => {
  const enters = 'enters' in spec ? spec.enters : undefined;
  const summary = enters
    ? `${spec.summary} (the payout enters ${enters})`
    : `${spec.summary} (a notice: the payout's state does not change)`;
  return [type, { summary, data: payoutData }] as const;
});

/** Every event type the outbox emits: its payload (`data`) schema and what it means. */
export const webhookEvents: Record<string, { summary: string; data: z.ZodType }> = {
  ...Object.fromEntries(payoutEvents),
  'payout.bulk_completed': {
    summary: 'Every payout of a bulk request is final or parked',
    data: bulkSummarySchema,
  },
  'period.completed': {
    summary: 'A period close posted its statements and paid out',
    data: periodCompletionSummarySchema,
  },
  'period.approval_reminder': { summary: 'A period is still awaiting approval', data: approvalNotice },
  'period.approval_escalation': {
    summary: 'A period awaits approval past the escalation time',
    data: approvalNotice,
  },
  'period.data_error': {
    summary: 'A period close stopped on a data error (reopened for corrections, or in review)',
    data: z
      .object({ periodId: z.string().describe('Period id'), problem: periodProblemSchema })
      .meta({ id: 'PeriodDataErrorData', description: 'The period and the problem that stopped its close' }),
  },
  'credit.granted': { summary: 'A promotional credit was granted', data: grantData },
  'credit.expiring_soon': { summary: 'A credit grant with a remainder expires soon', data: grantData },
  'credit.expired': {
    summary: 'A credit grant expired; its remainder returned to the platform',
    data: grantData,
  },
  'spendback.completed': {
    summary: 'A purchase was paid from the wallet',
    data: z
      .object({
        spendback: spendView,
        bonusGrant: grantView.nullable().describe('Spendback bonus granted by this purchase'),
      })
      .meta({ id: 'SpendbackCompletedData', description: 'The purchase and any bonus it earned' }),
  },
  'spendback.refunded': {
    summary: 'A spendback purchase was refunded',
    data: z.object({ refund: refundView }).meta({ id: 'SpendbackRefundedData', description: 'The refund' }),
  },
};

/** The signed body an endpoint receives (Standard Webhooks: type, timestamp, data; see outbox.webhookBody). */
export function webhookEnvelope(type: string): z.ZodType {
  const event = webhookEvents[type];
  if (!event) throw new Error(`unknown webhook event type ${type}`);
  return z
    .object({
      type: z.literal(type).describe('Event type'),
      timestamp: z.iso.datetime().describe('When the event occurred (ISO 8601 UTC)'),
      data: event.data,
    })
    .describe(`${type}: ${event.summary}`);
}
