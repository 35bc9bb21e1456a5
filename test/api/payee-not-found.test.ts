// A payee token asking for another payee's payout gets the same 404 as for a payout that does not exist
// (issue 14, finding 6): the text named the owner's payee id before.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;
let mine: string;
let theirs: string;
let theirPayout: string;
let token: string;

beforeAll(async () => {
  stack = await startStack('payee_not_found');
  mine = await stack.createPayee({ credit: '1000' });
  theirs = await stack.createPayee({ credit: '1000' });
  theirPayout = await stack.requestPayout(theirs, '100');
  const issued = await stack.call('POST', `/v1/payees/${mine}/tokens`, { body: {} });
  token = issued.body.token;
});
afterAll(async () => {
  await stack?.close();
});

describe("another payee's payout, seen with a payee token", () => {
  const missing = 'po_doesnotexist0000';
  it.each([
    ['read', 'GET', (id: string) => `/v1/payouts/${id}`, undefined],
    ['cancel', 'POST', (id: string) => `/v1/payouts/${id}/cancel`, { reason: 'not mine to cancel' }],
  ])(
    '%s: 404 reading exactly as for a payout that does not exist, without the owner',
    async (_w, method, path, body) => {
      const other = await stack.call(method, path(theirPayout), { key: token, ...(body ? { body } : {}) });
      const none = await stack.call(method, path(missing), { key: token, ...(body ? { body } : {}) });
      expect(other.status).toBe(404);
      expect(none.status).toBe(404);
      expect(other.text).not.toContain(theirs);
      expect(other.body.detail).toBe(none.body.detail.replace(missing, theirPayout));
      expect(other.body.detail).toBe(`Payout ${theirPayout} not found`);
    },
  );
});
