// What a database error says about retrying. A data error (the values sent cannot be stored: bad text, a
// broken constraint, a statement that does not fit the schema) fails the same way however often it is
// retried, so a workflow step must stop and report it. An availability error (src/db/unavailable.ts) is
// the opposite: the same statement succeeds once the database answers again.

import { sqlState } from './sql.ts';
import { isDatabaseUnavailable } from './unavailable.ts';

// Transient whatever their class: serialization failure and deadlock (40001, 40P01), lock not available
// (55P03), query cancelled (57014, e.g. statement_timeout), resources (53***), shutdown (57P0*).
const TRANSIENT_STATES = /^(40001|40P01|55P03|57014|53...|57P0.)$/;
// Class 22 data exception (22P05 untranslatable character, 22021 invalid byte sequence, 22P02 invalid
// text representation, 22001 too long…), 23 integrity constraint violation, 42 syntax error or undefined
// object, 2200/2203 JSON errors fall in 22 too.
const DATA_CLASSES = /^(22|23|42)/;

export type DatabaseErrorKind = 'unavailable' | 'transient' | 'data' | 'other';

/**
 * `unavailable`: the database cannot be reached (retry); `transient`: a conflict or limit that clears by
 * itself (retry); `data`: the values or statement can never succeed (do not retry); `other`: not a
 * database error this module knows (retry, as before). Callers that expect a unique violation (an
 * idempotency conflict they resolve) catch it before this is asked.
 */
export function classifyDatabaseError(error: unknown): DatabaseErrorKind {
  if (isDatabaseUnavailable(error)) return 'unavailable';
  const state = sqlState(error);
  if (state === undefined) return 'other';
  if (TRANSIENT_STATES.test(state)) return 'transient';
  if (DATA_CLASSES.test(state)) return 'data';
  return 'other';
}

/** Whether retrying `error` can never help: a PostgreSQL data, integrity or syntax error. */
export function isDataError(error: unknown): boolean {
  return classifyDatabaseError(error) === 'data';
}
