// "The app's own database is away": connection refused or dropped, a backend terminated, no pooled
// connection within the acquire timeout. Such a failure says nothing about the request or about any outside
// party (a payout provider): callers answer 503 with Retry-After and workflow steps retry.

/** Thrown when no database connection could be had (acquire timeout, connect refused or reset). */
export class DatabaseUnavailable extends Error {
  override name = 'DatabaseUnavailable';
  /** Survives MikroORM's DriverException, which copies own properties of the error it wraps. */
  readonly databaseUnavailable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// SQLSTATEs of a server that is going away or not accepting sessions: class 08 (connection exception),
// admin/crash shutdown and "starting up" (57P01-57P03), too many connections (53300).
const UNAVAILABLE_STATES = /^(08...|57P0[123]|53300)$/;
// Socket errors of a host that is down, unreachable or dropped the connection.
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// node-postgres raises these without a code when the connection ends under a query or is unusable.
const DRIVER_MESSAGES = [
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
];

/** Whether `error` (or a cause up its chain) means the database could not be reached or dropped the session. */
export function isDatabaseUnavailable(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && typeof e === 'object' && depth < 6; depth++) {
    const o = e as { databaseUnavailable?: unknown; code?: unknown; message?: unknown };
    if (o.databaseUnavailable === true) return true;
    if (typeof o.code === 'string' && (UNAVAILABLE_STATES.test(o.code) || SOCKET_CODES.has(o.code)))
      return true;
    if (typeof o.message === 'string' && DRIVER_MESSAGES.some((m) => (o.message as string).startsWith(m))) {
      return true;
    }
    e = (e as { cause?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
  }
  return false;
}
