// The closed list of error kinds the API can answer with. Each maps to one HTTP status and a stable problem
// type URI; domain code throws errors carrying one of these kinds (`kind` property) and the framework
// renders them as application/problem+json.

export const errorKinds = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  idempotency_key_missing: { status: 400, title: 'Idempotency-Key header is required' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed for this role' },
  totp_invalid: { status: 403, title: 'Two-factor code rejected' },
  totp_locked: { status: 403, title: 'Two-factor locked after too many wrong codes' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'Request not received in time' },
  conflict: { status: 409, title: 'Conflicts with the current state' },
  idempotency_in_flight: { status: 409, title: 'A request with this Idempotency-Key is still in progress' },
  payload_too_large: { status: 413, title: 'Request body too large' },
  unsupported_media_type: { status: 415, title: 'Only application/json is accepted' },
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key was used with a different request' },
  unprocessable: { status: 422, title: 'The request cannot be carried out' },
  insufficient_funds: { status: 422, title: 'Insufficient funds' },
  rate_limited: { status: 429, title: 'Too many requests' },
  headers_too_large: { status: 431, title: 'Request header fields too large' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorKind = keyof typeof errorKinds;

export interface FieldError {
  /** JSON path of the offending field, e.g. `destination.iban` or `query.limit`. */
  path: string;
  message: string;
  code?: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly kind: ErrorKind;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;
  constructor(
    kind: ErrorKind,
    detail: string,
    extra: { errors?: FieldError[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(detail, { cause: extra.cause });
    this.kind = kind;
    this.errors = extra.errors;
    this.headers = extra.headers;
  }
}

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && Object.hasOwn(errorKinds, value);
}

export function problemType(kind: ErrorKind): string {
  return `urn:disburse:problem:${kind}`;
}
