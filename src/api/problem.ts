// Rendering errors as RFC 9457 application/problem+json, and mapping thrown errors onto the closed list of
// error kinds. Unknown errors become `internal` with a generic detail; the errorId ties the response to the log.
import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { z } from 'zod';
import { sqlState } from '../db/sql.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import {
  ApiError,
  type ErrorKind,
  errorKinds,
  type FieldError,
  isErrorKind,
  problemType,
} from '../http/errors.ts';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errorId: string;
  kind: ErrorKind;
  errors?: FieldError[];
}

export const problemSchema = z
  .object({
    type: z.string().describe('Problem type URI: urn:disburse:problem:<kind>'),
    title: z.string().describe('Short, human-readable summary of the problem type'),
    status: z.number().int().describe('HTTP status code'),
    detail: z.string().describe('What went wrong with this request and what to do about it'),
    instance: z.string().describe('The request path'),
    errorId: z.string().describe('Identifier of this occurrence; also written in the server log'),
    kind: z
      .enum(Object.keys(errorKinds) as [ErrorKind, ...ErrorKind[]])
      .describe('Stable machine-readable error kind'),
    errors: z
      .array(
        z
          .object({
            path: z
              .string()
              .describe('Dotted path of the offending field, prefixed by body, query or params'),
            message: z.string().describe('Why the field was rejected'),
            code: z.string().optional().describe('Validation rule that failed'),
          })
          .describe('One rejected field'),
      )
      .optional()
      .describe('Per-field validation errors'),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

export interface MappedError {
  kind: ErrorKind;
  detail: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Keep the original for the log when it is a server-side failure. */
  cause?: unknown;
}

/**
 * Top-level fields a request schema renamed (old name → new name). Before 1.0 no alias is kept: the old name
 * is refused as any unknown field is, and the message names the field to send instead.
 */
export const renamedFields = z.registry<Record<string, string>>();

export function zodFieldErrors(
  location: 'body' | 'query' | 'params',
  error: z.ZodError,
  renamed: Readonly<Record<string, string>> = {},
): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const base = [location, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const now = issue.path.length === 0 && Object.hasOwn(renamed, key) ? renamed[key] : undefined;
        out.push({
          path: [...base, key].join('.'),
          message: now ? `unknown field (renamed): use \`${now}\`` : 'unknown field: remove it',
          code: 'unrecognized_key',
        });
      }
    } else {
      out.push({ path: base.join('.'), message: issue.message, code: issue.code });
    }
  }
  return out;
}

const BIGINT_MAX = 2n ** 63n - 1n;
/** A dropped or refused database connection is usually back within seconds (the pool reconnects). */
const DATABASE_RETRY_AFTER_SECONDS = 2;
/** Retry-After when Temporal did not answer a start or an update within the gateway's deadline. */
const TEMPORAL_RETRY_AFTER_SECONDS = 5;

/** An amount beyond what the ledger holds (PostgreSQL bigint), with the limit. */
export function outOfRangeDetail(message: string): string {
  return `${message}: amounts are limited to ${BIGINT_MAX} minor units`;
}

/** Stable `code`s of domain errors (ledger, money) and the API kind each maps to. */
const domainCodes: Record<string, ErrorKind> = {
  money_invalid: 'validation_failed',
  invalid_posting: 'unprocessable',
  invalid_cursor: 'validation_failed',
  idempotency_conflict: 'conflict',
  insufficient_funds: 'insufficient_funds',
  transaction_not_found: 'not_found',
  hold_already_resolved: 'conflict',
  already_reversed: 'conflict',
};

export function mapError(error: unknown): MappedError {
  if (error instanceof ApiError) {
    return { kind: error.kind, detail: error.message, errors: error.errors, headers: error.headers };
  }
  if (error instanceof z.ZodError) {
    return {
      kind: 'validation_failed',
      detail: 'The request is not valid',
      errors: zodFieldErrors('body', error),
    };
  }
  const kind = (error as { kind?: unknown } | null)?.kind;
  if (error instanceof Error && isErrorKind(kind) && kind !== 'internal') {
    return { kind, detail: error.message };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'money_invalid' && (error as { reason?: unknown }).reason === 'out_of_range') {
    return { kind: 'unprocessable', detail: outOfRangeDetail((error as Error).message) };
  }
  if (error instanceof Error && typeof code === 'string' && Object.hasOwn(domainCodes, code)) {
    return { kind: domainCodes[code]!, detail: error.message };
  }
  if (temporalUnreachable(error)) {
    return {
      kind: 'unavailable',
      detail:
        'Temporal did not answer in time, so this request may not have taken effect; retry it with the same Idempotency-Key',
      headers: { 'Retry-After': String(TEMPORAL_RETRY_AFTER_SECONDS) },
      cause: error,
    };
  }
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
    // A decision (workflow update) the workflow did not answer within the gateway's deadline: no worker is
    // polling, or it is overloaded. The update may still be taken; its id comes from the Idempotency-Key.
    return {
      kind: 'unavailable',
      detail:
        'The decision was sent to its workflow, which has not answered in time (its worker may be down or busy), ' +
        'so its outcome is not known yet. Retry the same request with the same Idempotency-Key: it is the same ' +
        'decision and gets its answer once the workflow acts on it; or read the object (e.g. GET /v1/payouts/{id})',
      headers: { 'Retry-After': String(TEMPORAL_RETRY_AFTER_SECONDS) },
      cause: error,
    };
  }
  if (isDatabaseUnavailable(error)) {
    return {
      kind: 'unavailable',
      detail:
        'The database is not reachable right now, so this request may not have taken effect; retry it after Retry-After seconds (a POST with the same Idempotency-Key)',
      headers: { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
      cause: error,
    };
  }
  const state = sqlState(error);
  if (state === '22003') {
    // numeric_value_out_of_range: an amount, or a balance or total it would produce, beyond bigint.
    return {
      kind: 'unprocessable',
      detail: `An amount, or a balance or total it would produce, exceeds the limit of ${BIGINT_MAX} minor units; nothing was written`,
    };
  }
  if (error instanceof UniqueConstraintViolationException || state === '23505') {
    return {
      kind: 'conflict',
      detail: 'An object with the same unique identifier already exists',
      cause: error,
    };
  }
  return {
    kind: 'internal',
    detail: 'An unexpected error occurred; quote the errorId when reporting it',
    cause: error,
  };
}

/**
 * Errors Express raises before a handler runs, as our kinds: body-parser errors (they carry a `type`) and a
 * path whose percent-escapes do not decode. Null for anything else.
 */
export function mapRequestError(error: unknown): MappedError | null {
  if (error instanceof URIError) {
    return {
      kind: 'validation_failed',
      detail: 'The request path has a malformed percent-escape; encode path segments with encodeURIComponent',
    };
  }
  const type = (error as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.too.large':
      return {
        kind: 'payload_too_large',
        detail: `Request body exceeds the limit of ${(error as { limit?: number }).limit} bytes`,
      };
    case 'entity.parse.failed':
      return { kind: 'malformed_json', detail: 'The body is not valid JSON; send a JSON object' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { kind: 'unsupported_media_type', detail: 'Send UTF-8 JSON without content encoding' };
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return { kind: 'validation_failed', detail: 'The request body could not be read' };
    default:
      return null;
  }
}

export function toProblem(mapped: MappedError, instance: string, errorId = randomUUID()): Problem {
  const def = errorKinds[mapped.kind];
  return {
    type: problemType(mapped.kind),
    title: def.title,
    status: def.status,
    detail: mapped.detail,
    instance,
    errorId,
    kind: mapped.kind,
    ...(mapped.errors && mapped.errors.length > 0 ? { errors: mapped.errors } : {}),
  };
}

// gRPC UNAVAILABLE / DEADLINE_EXCEEDED from the Temporal client, after its own retries.
const UNREACHABLE_CODES = new Set([14, 4]);

function temporalUnreachable(error: unknown): boolean {
  if (!(error instanceof ServiceError)) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && UNREACHABLE_CODES.has(code);
}
