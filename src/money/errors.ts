export type MoneyErrorReason =
  | 'invalid_shape'
  | 'not_an_integer'
  | 'not_a_decimal'
  | 'negative'
  | 'zero'
  | 'unknown_currency'
  | 'currency_mismatch'
  | 'too_many_decimals'
  | 'invalid_scale'
  | 'out_of_range';

/** Bad money input. `code` is stable for API mapping (HTTP 400/422); `reason` says which rule failed. */
export class MoneyError extends Error {
  readonly code = 'money_invalid';
  readonly reason: MoneyErrorReason;
  readonly field: string;
  constructor(reason: MoneyErrorReason, field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'MoneyError';
    this.reason = reason;
    this.field = field;
  }
}
