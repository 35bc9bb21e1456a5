// Period-close steps can also fail for a reason outside the database that no retry fixes: a plan version no
// longer loaded, an amount in a currency no longer configured, a posting the ledger refuses. Each becomes
// the same non-retryable DataError as a database data error (activities/data-errors.ts), with the domain
// error's code, so the workflow stops the close visibly instead of retrying the step forever. Anything not
// known to be deterministic (an outage, a timeout, a Temporal client error) stays retryable.
import { ApplicationFailure } from '@temporalio/activity';
import { LedgerError } from '../src/ledger/errors.ts';
import { MoneyError } from '../src/money/errors.ts';
import { PeriodStateError } from '../src/periods/service.ts';
import { PlanInvalid } from '../src/plans/plan.ts';
import { PlanNotFound } from '../src/plans/registry.ts';
import { PayoutFailure } from '../workflows/payout-activities.ts';
import { classifyDataErrors } from './data-errors.ts';

/** The error's stable code when retrying it can never succeed; undefined when a retry may help. */
function deterministicCode(error: unknown): string | undefined {
  if (error instanceof LedgerError) return error.nonRetryable ? error.code : undefined;
  if (
    error instanceof MoneyError ||
    error instanceof PlanNotFound ||
    error instanceof PlanInvalid ||
    error instanceof PeriodStateError
  )
    return error.code;
  // Thrown by the language on bad values (BigInt('x'), an invalid date, JSON.parse): the same every time.
  // Not TypeError: fetch reports network failures as one.
  if (error instanceof RangeError || error instanceof SyntaxError) return error.name;
  return undefined;
}

const MAX_MESSAGE = 300;

/** A non-retryable DataError for a deterministic domain error raised by `step`; anything else as it is. */
export function asDeterministicFailure(step: string, error: unknown): unknown {
  const errorCode = deterministicCode(error);
  if (errorCode === undefined) return error;
  const message = (error as Error).message;
  return ApplicationFailure.create({
    type: PayoutFailure.dataError,
    message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message,
    nonRetryable: true,
    details: [{ step, errorCode }],
    cause: error as Error,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: activities of every shape
type Activities = Record<string, (...args: any[]) => Promise<unknown>>;

/** The activities with database data errors and deterministic domain errors both made non-retryable. */
export function classifyPeriodErrors<T extends Activities>(activities: T): T {
  const wrapped: Activities = {};
  for (const [name, fn] of Object.entries(classifyDataErrors(activities))) {
    wrapped[name] = async (...args) => {
      try {
        return await fn(...args);
      } catch (error) {
        throw asDeterministicFailure(name, error);
      }
    };
  }
  return wrapped as T;
}
