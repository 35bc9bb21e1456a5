// Every payout, period-close and scheduled-close activity: a failure that no retry can fix becomes a
// non-retryable DataError naming the step, so the workflow ends the payout in review (or stops the close)
// visibly instead of retrying it forever. Two kinds: a database data error (src/db/errors.ts: a value that
// cannot be stored, a broken constraint), and a deterministic domain error (a plan version no longer loaded,
// an amount in a currency no longer configured, a posting the ledger refuses). Anything not known to be
// deterministic (an outage, a timeout, a Temporal client error) stays retryable.
import { ApplicationFailure } from '@temporalio/activity';
import { isDataError } from '../src/db/errors.ts';
import { sqlState } from '../src/db/sql.ts';
import { LedgerError } from '../src/ledger/errors.ts';
import { MoneyError } from '../src/money/errors.ts';
import { PeriodStateError } from '../src/periods/service.ts';
import { PlanInvalid } from '../src/plans/plan.ts';
import { PlanNotFound } from '../src/plans/registry.ts';
import { PayoutFailure } from '../workflows/payout-activities.ts';

const MAX_MESSAGE = 300;

const clip = (message: string) =>
  message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;

// The driver's own words, not MikroORM's (which prefixes the whole statement and its parameters).
function driverMessage(error: unknown): string {
  let e: unknown = error;
  let message = error instanceof Error ? error.message : String(error);
  for (let depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    if (e instanceof Error && typeof (e as { code?: unknown }).code === 'string') message = e.message;
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return clip(message);
}

/** The domain error's stable code when retrying it can never succeed; undefined when a retry may help. */
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

/**
 * A non-retryable DataError for a failure of `step` that no retry can fix: `details[0]` is
 * `{ step, sqlState }` for a database data error, `{ step, errorCode }` for a domain error. Anything else
 * (an ApplicationFailure an activity chose itself included) as it is.
 */
export function asDataError(step: string, error: unknown): unknown {
  if (error instanceof ApplicationFailure) return error;
  if (isDataError(error)) {
    const state = sqlState(error);
    return ApplicationFailure.create({
      type: PayoutFailure.dataError,
      message: `${driverMessage(error)} (SQLSTATE ${state})`,
      nonRetryable: true,
      details: [{ step, sqlState: state }],
      ...(error instanceof Error ? { cause: error } : {}),
    });
  }
  const errorCode = deterministicCode(error);
  if (errorCode === undefined) return error;
  return ApplicationFailure.create({
    type: PayoutFailure.dataError,
    message: clip((error as Error).message),
    nonRetryable: true,
    details: [{ step, errorCode }],
    cause: error as Error,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: activities of every shape
type Activities = Record<string, (...args: any[]) => Promise<unknown>>;

/** The same activities, each rethrowing a failure no retry can fix as asDataError does. */
export function classifyDataErrors<T extends Activities>(activities: T): T {
  const wrapped: Activities = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args) => {
      try {
        return await fn(...args);
      } catch (error) {
        throw asDataError(name, error);
      }
    };
  }
  return wrapped as T;
}
