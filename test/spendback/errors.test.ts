import { describe, expect, it } from '@jest/globals';
import { type ErrorKind, errorKinds } from '../../src/http/errors.ts';
import { SpendbackError, type SpendbackErrorKind } from '../../src/spendback/errors.ts';

// Compile-time: every spendback kind is an API error kind (the API renders it by that name).
const asApiKind = (kind: SpendbackErrorKind): ErrorKind => kind;

describe('spendback errors', () => {
  it('carry an API error kind the problem renderer knows, with its status', () => {
    const error = new SpendbackError('insufficient_funds', 'wallet_short', 'not enough credit');
    expect(errorKinds[asApiKind(error.kind)].status).toBe(422);
    expect(errorKinds[asApiKind(new SpendbackError('not_found', 'order', 'no order').kind)].status).toBe(404);
  });
});
