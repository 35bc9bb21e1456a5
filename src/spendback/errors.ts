// Spendback errors carry a stable code and the kind of failure, named as the API's error kinds are
// (src/http/errors.ts), which renders an error with a `kind` as problem+json with that kind's status.

/** The kinds of failure spendback reports: a subset of the API's error kinds. */
export type SpendbackErrorKind =
  | 'validation_failed'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  | 'insufficient_funds';

export class SpendbackError extends Error {
  readonly kind: SpendbackErrorKind;
  readonly code: string;
  constructor(kind: SpendbackErrorKind, code: string, message: string) {
    super(message);
    this.name = 'SpendbackError';
    this.kind = kind;
    this.code = code;
  }
}
