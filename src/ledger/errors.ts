/**
 * Typed ledger errors. `code` is stable (API and Temporal ApplicationFailure types map on it); `name`
 * is set explicitly so minifiers cannot rename it.
 */
export abstract class LedgerError extends Error {
  abstract readonly code: string;
  /** True when retrying the same call cannot succeed (maps to a non-retryable activity failure). */
  readonly nonRetryable: boolean = true;
}

/** Bad request to the ledger (shape, amounts, accounts, balance of the entries). Nothing was written. */
export class InvalidPosting extends LedgerError {
  readonly code = 'invalid_posting';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'InvalidPosting';
    this.field = field;
  }
}

export class UnbalancedTransaction extends LedgerError {
  readonly code = 'unbalanced_transaction';
  readonly currency: string;
  readonly sum: string;
  constructor(currency: string, sum: bigint) {
    super(
      `entries in ${currency} sum to ${sum} minor units; every transaction must sum to zero per currency`,
    );
    this.name = 'UnbalancedTransaction';
    this.currency = currency;
    this.sum = sum.toString();
  }
}

/** The idempotency key was already used for a transaction with different content. */
export class IdempotencyConflict extends LedgerError {
  readonly code = 'idempotency_conflict';
  readonly idempotencyKey: string;
  readonly existingTransactionId: string;
  constructor(idempotencyKey: string, existingTransactionId: string) {
    super(
      `idempotency key '${idempotencyKey}' already identifies transaction ${existingTransactionId} with different ` +
        'content; a key must always describe the same posting (derive it from what the posting represents)',
    );
    this.name = 'IdempotencyConflict';
    this.idempotencyKey = idempotencyKey;
    this.existingTransactionId = existingTransactionId;
  }
}

/** A payee account would go negative. Amounts are minor-unit strings. */
export class InsufficientFunds extends LedgerError {
  readonly code = 'insufficient_funds';
  readonly account: { kind: string; owner: string; currency: string };
  readonly available: string;
  readonly requested: string;
  constructor(
    account: { kind: string; owner: string; currency: string },
    available: bigint,
    requested: bigint,
  ) {
    super(
      `insufficient funds in ${account.kind} of ${account.owner}: ${available} ${account.currency} minor units ` +
        `available, ${requested} requested`,
    );
    this.name = 'InsufficientFunds';
    this.account = account;
    this.available = available.toString();
    this.requested = requested.toString();
  }
}

export class TransactionNotFound extends LedgerError {
  readonly code = 'transaction_not_found';
  readonly idempotencyKey: string;
  constructor(idempotencyKey: string, what = 'transaction') {
    super(`no ${what} with idempotency key '${idempotencyKey}'`);
    this.name = 'TransactionNotFound';
    this.idempotencyKey = idempotencyKey;
  }
}

/** A hold was already settled or released (by another transaction). */
export class HoldAlreadyResolved extends LedgerError {
  readonly code = 'hold_already_resolved';
  readonly holdKey: string;
  readonly resolution: 'settled' | 'released';
  readonly resolvedBy: string;
  constructor(holdKey: string, resolution: 'settled' | 'released', resolvedBy: string) {
    super(`hold '${holdKey}' was already ${resolution} by transaction '${resolvedBy}'`);
    this.name = 'HoldAlreadyResolved';
    this.holdKey = holdKey;
    this.resolution = resolution;
    this.resolvedBy = resolvedBy;
  }
}

/** The transaction was already reversed (by another transaction). */
export class AlreadyReversed extends LedgerError {
  readonly code = 'already_reversed';
  readonly transactionKey: string;
  readonly reversedBy: string;
  constructor(transactionKey: string, reversedBy: string) {
    super(`transaction '${transactionKey}' was already reversed by '${reversedBy}'`);
    this.name = 'AlreadyReversed';
    this.transactionKey = transactionKey;
    this.reversedBy = reversedBy;
  }
}

export class InvalidCursor extends LedgerError {
  readonly code = 'invalid_cursor';
  constructor() {
    super('cursor is not one this API returned; start again without a cursor');
    this.name = 'InvalidCursor';
  }
}
