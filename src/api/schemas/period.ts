import { z } from 'zod';
import type { PeriodProgress } from '../../../workflows/period-contract.ts';
import { isValidPeriodId, PERIOD_ID, PERIOD_YEARS } from '../../periods/calendar.ts';

/** A commission period id that names a real period (2026-11, 2026-11-H1, 2026-W47). */
export const periodIdSchema = z
  .string()
  .regex(PERIOD_ID, { message: 'must be a period id such as 2026-11, 2026-11-H1 or 2026-W47', abort: true })
  .refine(
    isValidPeriodId,
    `no such period: months run 01-12, ISO weeks 01-52 (53 in some years), years ${PERIOD_YEARS.first}-${PERIOD_YEARS.last}`,
  )
  .meta({ description: 'Period id', examples: ['2026-11'] });

// The period-close workflow's progress (workflows/period-contract.ts), as the API returns it. Responses are
// parsed through their schema, so every field is spelled out; `Exact` below fails the typecheck when the
// contract and this schema drift apart.
const minor = z
  .string()
  .regex(/^-?\d+$/)
  .describe('Signed amount in minor units');
const totals = z
  .record(z.string().regex(/^[A-Z]{3}$/), minor)
  .describe('Amounts per currency (ISO 4217) in signed minor units');
const diffSummary = z
  .object({
    fromRun: z.number().int().describe('Run compared from'),
    toRun: z.number().int().describe('Run compared to'),
    changedStatements: z.number().int().describe('Statements whose amounts changed'),
    addedStatements: z.number().int().describe('Statements only in the new run'),
    removedStatements: z.number().int().describe('Statements only in the old run'),
    totals: z
      .array(
        z
          .object({
            currency: z.string().describe('ISO 4217 currency'),
            before: minor.describe('Total before (minor units)'),
            after: minor.describe('Total after (minor units)'),
            delta: minor.describe('after - before (minor units)'),
          })
          .describe('Change of one currency total'),
      )
      .describe('Per-currency changes'),
  })
  .meta({ id: 'PeriodRunDiff', description: 'What a recalculation changed against the previous run' });
export const periodCompletionSummarySchema = z
  .object({
    periodId: z.string().describe('Period id'),
    run: z.number().int().describe('The run that was posted'),
    postings: z.number().int().describe('Ledger postings made'),
    totals,
    receivableCarried: minor.describe('Negative balances carried as receivable (minor units)'),
    payouts: z.record(z.string(), z.number().int()).describe('Payouts by state when the period completed'),
  })
  .describe('Summary once the period completed');
const periodStages = [
  'closing',
  'calculating',
  'awaiting_approval',
  'open_for_corrections',
  'posting',
  'paying_out',
  'review',
  'completed',
] as const;

/** A data error that stopped the close (workflows/period-contract.ts PeriodProblem). */
export const periodProblemSchema = z
  .object({
    code: z
      .literal('data_error')
      .describe(
        'A value the database cannot store, a broken constraint, or input no retry can fix (an unknown plan version or currency)',
      ),
    stage: z.enum(periodStages).describe('Stage the close was in'),
    step: z.string().describe('The step (activity) that failed'),
    batch: z.number().int().optional().describe('The batch, when a batch step failed'),
    run: z.number().int().describe('Calculation run'),
    message: z.string().describe("The database's words, or the domain error's"),
    sqlState: z.string().optional().describe('PostgreSQL SQLSTATE (a database error)'),
    errorCode: z
      .string()
      .optional()
      .describe('Stable code of a domain error, e.g. plan_not_found, money_invalid, invalid_posting'),
    at: z.string().describe('When (ISO 8601 UTC)'),
    outcome: z
      .enum(['reopened', 'review'])
      .describe(
        'reopened: nothing was posted, the period takes corrections, then close it again; review: the approved run stopped part-way, closing it again resumes it',
      ),
    retried: z
      .object({ by: z.string().describe('Who'), at: z.string().describe('When (ISO 8601 UTC)') })
      .optional()
      .describe('The period was closed again after this problem'),
  })
  .meta({ id: 'PeriodProblem', description: 'A data error that stopped the period close' });

export const periodProgressSchema = z
  .object({
    periodId: z.string().describe('Period id'),
    stage: z.enum(periodStages).describe('Stage of the close'),
    run: z.number().int().min(0).describe('Current calculation run (0 before the first)'),
    planVersion: z.string().describe('Compensation plan version of the run'),
    calculation: z
      .object({
        batchesDone: z.number().int().describe('Batches calculated'),
        batchesTotal: z.number().int().describe('Batches to calculate'),
        payees: z.number().int().describe('Payees calculated'),
        totals,
      })
      .describe('Calculation progress'),
    approvalsRequired: z.number().int().describe('Distinct approvals needed before posting'),
    approvals: z
      .array(
        z
          .object({
            actor: z.string().describe('Approver'),
            decision: z.enum(['approve', 'reject']).describe('Decision'),
            reason: z.string().describe('Why'),
            run: z.number().int().describe('Run decided on'),
            at: z.string().describe('When (ISO 8601 UTC)'),
          })
          .describe('One approval decision'),
      )
      .describe('Decisions so far'),
    reminders: z.number().int().describe('Approval reminders sent'),
    escalated: z.boolean().describe('The approval was escalated'),
    nextTimer: z
      .object({
        purpose: z.enum(['reminder', 'escalation']).describe('What happens when it fires'),
        at: z.string().describe('When (ISO 8601 UTC)'),
      })
      .optional()
      .describe('While approval is awaited and not yet escalated: the next reminder or the escalation'),
    lastDiff: diffSummary.optional(),
    posting: z
      .object({
        batchesDone: z.number().int().describe('Batches posted'),
        batchesTotal: z.number().int().describe('Batches to post'),
        resumedBatches: z.number().int().describe('Batches found already posted (a retried activity)'),
      })
      .describe('Ledger posting progress'),
    payouts: z
      .object({
        started: z.number().int().describe('Payout workflows started'),
        inFlight: z.number().int().describe('Payouts not yet final'),
        total: z.number().int().describe('Payouts to start'),
      })
      .describe('Payout fan-out progress'),
    closedBy: z.string().describe('Who closed the period'),
    history: z
      .object({
        continuedAsNew: z.number().int().describe('Earlier runs (continue-as-new)'),
        eventsInEarlierRuns: z.number().int().describe('History events in earlier runs'),
        largestRun: z.number().int().describe('Events of the largest earlier run'),
      })
      .describe("The workflow's earlier runs"),
    summary: periodCompletionSummarySchema.optional(),
    problems: z
      .array(periodProblemSchema)
      .optional()
      .describe('Data errors the close met, oldest first (the last is open while the stage is review)'),
  })
  .meta({
    id: 'PeriodProgress',
    description:
      'Live state of the period-close workflow (stage, batches, totals, approvals, payouts, summary)',
  });

type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const _progressMatchesContract: Exact<z.output<typeof periodProgressSchema>, PeriodProgress> = true;
void _progressMatchesContract;

/** A page of statements of one calculation run (GET /v1/periods/:id/statements). */
export const statementsPageSchema = z
  .object({
    periodId: z.string().describe('Period id'),
    run: z.number().int().describe('Calculation run'),
    planVersion: z.string().describe('Compensation plan version of the run'),
    statements: z
      .array(
        z
          .object({
            payeeId: z.string().describe('Payee id'),
            currency: z.string().describe('ISO 4217 currency'),
            total: minor.describe('Statement total (minor units)'),
          })
          .catchall(z.unknown())
          .describe("One payee's statement in one currency, with the plan's line items"),
      )
      .describe('Statements, ordered by payee id and currency'),
    next: z.string().nullable().describe('Pass as `after` for the next page; null on the last page'),
  })
  .meta({ id: 'PeriodStatements', description: 'A page of statements of one calculation run' });

/** POST /v1/periods/:id/close: the workflow was started, was running already, or took the period again. */
export const periodCloseAcceptedSchema = z
  .object({
    periodId: z.string().describe('Period id'),
    workflow: z
      .enum(['started', 'running', 'resubmitted'])
      .describe(
        'started: a new close; running: already closing; resubmitted: closed again after corrections',
      ),
  })
  .meta({ id: 'PeriodCloseAccepted', description: 'The period-close workflow runs' });

/** GET /v1/periods/:id of a period with events that was never closed (no workflow yet). */
export const periodNotClosedSchema = z
  .object({
    periodId: z.string().describe('Period id'),
    stage: z.string().describe('The stored period status (open before the first close)'),
  })
  .meta({ id: 'PeriodNotClosed', description: 'A period that has events but no close workflow yet' });

export const periodRecalculationAcceptedSchema = z
  .object({
    periodId: z.string().describe('Period id'),
    fromRun: z.number().int().describe('The run being replaced'),
    toRun: z.number().int().describe('The run being calculated'),
    planVersion: z.string().describe('Compensation plan version of the new run'),
  })
  .meta({ id: 'PeriodRecalculationAccepted', description: 'A recalculation accepted by the workflow' });
