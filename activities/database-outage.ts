// Every activity: the app's own database being away is an infrastructure failure, retried like any
// transient error and recognisable by type (DatabaseUnavailable), so the workflow never reads it as an
// outcome of a provider, of the payee or of the input.
import { ApplicationFailure } from '@temporalio/activity';
import { isDatabaseUnavailable } from '../src/db/unavailable.ts';
import { PayoutFailure } from '../workflows/payout-activities.ts';

/** A retryable DatabaseUnavailable failure for a database connectivity error; anything else as it is. */
export function asDatabaseOutage(error: unknown): unknown {
  if (!isDatabaseUnavailable(error)) return error;
  if (error instanceof ApplicationFailure && error.type === PayoutFailure.databaseUnavailable) return error;
  const message = error instanceof Error ? error.message : String(error);
  return ApplicationFailure.create({
    type: PayoutFailure.databaseUnavailable,
    message: `the database is unavailable: ${message}`,
    nonRetryable: false,
    ...(error instanceof Error ? { cause: error } : {}),
  });
}

// biome-ignore lint/suspicious/noExplicitAny: activities of every shape
type Activities = Record<string, (...args: any[]) => Promise<unknown>>;

/** The same activities, each rethrowing database connectivity errors as asDatabaseOutage does. */
export function classifyDatabaseOutages<T extends Activities>(activities: T): T {
  const wrapped: Activities = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args) => {
      try {
        return await fn(...args);
      } catch (error) {
        throw asDatabaseOutage(error);
      }
    };
  }
  return wrapped as T;
}
