// Every payout activity: a database error that no retry can fix (src/db/errors.ts) becomes a non-retryable
// DataError naming the step, so the workflow ends the payout in review instead of retrying it forever.
import { ApplicationFailure } from '@temporalio/activity';
import { isDataError } from '../src/db/errors.ts';
import { sqlState } from '../src/db/sql.ts';
import { PayoutFailure } from '../workflows/payout-activities.ts';

// The driver's own words, not MikroORM's (which prefixes the whole statement and its parameters).
function driverMessage(error: unknown): string {
  let e: unknown = error;
  let message = error instanceof Error ? error.message : String(error);
  for (let depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    if (e instanceof Error && typeof (e as { code?: unknown }).code === 'string') message = e.message;
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** A non-retryable DataError for a data error raised by `step`; anything else as it is. */
export function asDataError(step: string, error: unknown): unknown {
  if (error instanceof ApplicationFailure || !isDataError(error)) return error;
  const state = sqlState(error);
  return ApplicationFailure.create({
    type: PayoutFailure.dataError,
    message: `${driverMessage(error)} (SQLSTATE ${state})`,
    nonRetryable: true,
    details: [{ step, sqlState: state }],
    ...(error instanceof Error ? { cause: error } : {}),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: activities of every shape
type Activities = Record<string, (...args: any[]) => Promise<unknown>>;

/** The same activities, each rethrowing data errors as asDataError does. */
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
