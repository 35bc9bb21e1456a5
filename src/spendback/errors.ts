// Spendback errors carry an API error kind (the framework renders them as problem+json) and a stable code.
import type { ErrorKind } from '../http/errors.ts';

export class SpendbackError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  constructor(kind: ErrorKind, code: string, message: string) {
    super(message);
    this.name = 'SpendbackError';
    this.kind = kind;
    this.code = code;
  }
}
