// Control characters at the API edge (issue 14, finding 2): NUL and the other C0 controls in any free-text
// field are a 400 problem+json naming the field, and nothing is written or signalled. Before, a payee's
// cancel "bye\u0000" was taken by the workflow, which then failed forever recording it; through approve the
// API answered 500 but the approval was taken.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { controlCharErrors } from '../../src/api/control-chars.ts';
import { sql } from '../../src/db/sql.ts';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;
let payeeId: string;
let payoutId: string;
let approver: Awaited<ReturnType<Stack['approver']>>;

beforeAll(async () => {
  // 50.00 needs one approver: the payout waits in pending_approval for the decision cases.
  stack = await startStack('control_chars', {
    env: { APPROVAL_THRESHOLD_SINGLE: 'USD:1000', APPROVAL_THRESHOLD_DUAL: 'USD:1000000' },
  });
  payeeId = await stack.createPayee({ credit: '10000' });
  payoutId = await stack.requestPayout(payeeId, '5000');
  await stack.waitForState(payoutId, ['pending_approval']);
  approver = await stack.approver('ada');
});
afterAll(async () => {
  await stack?.close();
});

async function auditCount(): Promise<number> {
  const rows = await sql<{ n: string }>(
    stack.db.em(),
    `SELECT count(*)::text AS n FROM "${stack.db.schema}".audit_log`,
  );
  return Number(rows[0]!.n);
}

const ext = () => `ext-cc-${randomBytes(4).toString('hex')}`;
const validPayee = () => ({
  externalId: ext(),
  name: 'Valid Name',
  email: 'v@example.com',
  country: 'US',
  defaultCurrency: 'USD',
});

type Case = [
  what: string,
  method: string,
  path: () => string,
  body: (bad: string) => Record<string, unknown>,
  field: string,
  key?: () => string,
];

const cases: Case[] = [
  [
    'payout cancel reason',
    'POST',
    () => `/v1/payouts/${payoutId}/cancel`,
    (bad) => ({ reason: bad }),
    'body.reason',
  ],
  [
    'payout approve reason',
    'POST',
    () => `/v1/payouts/${payoutId}/approve`,
    (bad) => ({ reason: bad, totp: approver.code() }),
    'body.reason',
    () => approver.key,
  ],
  [
    'payout reject reason',
    'POST',
    () => `/v1/payouts/${payoutId}/reject`,
    (bad) => ({ reason: bad, totp: approver.code() }),
    'body.reason',
    () => approver.key,
  ],
  ['payee name', 'POST', () => '/v1/payees', (bad) => ({ ...validPayee(), name: bad }), 'body.name'],
  [
    'credit description',
    'POST',
    () => `/v1/payees/${payeeId}/credits`,
    (bad) => ({ amount: { amount: '100', currency: 'USD', scale: 2 }, reference: ext(), description: bad }),
    'body.description',
  ],
  [
    'bank account holder name',
    'PUT',
    () => `/v1/payees/${payeeId}/destinations/bank_account`,
    (bad) => ({
      accountNumber: '400012345123',
      routingNumber: '011000015',
      holderName: bad,
      country: 'US',
      currency: 'USD',
    }),
    'body.holderName',
  ],
  [
    'credit grant reason',
    'POST',
    () => `/v1/payees/${payeeId}/credits/grants`,
    (bad) => ({ amount: { amount: '100', currency: 'USD', scale: 2 }, reference: ext(), reason: bad }),
    'body.reason',
  ],
];

const badValues: [string, string][] = [
  ['NUL', 'bye\u0000 now'],
  ['BEL', 'ring\u0007 ring'],
  ['ESC', 'red \u001b[31m text'],
  ['line feed', 'two\nlines here'],
  ['DEL', 'rub\u007f out'],
];

describe('control characters in free-text fields', () => {
  it.each(
    cases.flatMap(([what, method, path, body, field, key]) =>
      badValues.map(([label, bad]) => [what, label, method, path, body, field, key, bad] as const),
    ),
  )(
    '%s with %s: 400 naming the field, nothing written',
    async (_w, _l, method, path, body, field, key, bad) => {
      const audits = await auditCount();
      const res = await stack.call(method, path(), { body: body(bad), ...(key ? { key: key() } : {}) });
      expect(res.status).toBe(400);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body.kind).toBe('validation_failed');
      expect(res.body.errors).toEqual([expect.objectContaining({ path: field, code: 'control_character' })]);
      expect(await auditCount()).toBe(audits);
    },
  );

  it('the payout was neither cancelled nor decided: it still waits, and a clean cancel then works', async () => {
    expect((await stack.gateway.status(payoutId))?.state).toBe('pending_approval');
    const ok = await stack.call('POST', `/v1/payouts/${payoutId}/cancel`, { body: { reason: 'bye now' } });
    expect(ok.status).toBe(200);
    expect((await stack.result(payoutId)).state).toBe('cancelled');
    await stack.assertInvariants();
  });

  it('NUL in a path parameter or a query string is a 400 too', async () => {
    const inPath = await stack.call('GET', `/v1/payouts/po_abcdefgh${encodeURIComponent('\u0000')}`);
    expect(inPath.status).toBe(400);
    const inQuery = await stack.call('GET', `/v1/payouts?periodId=${encodeURIComponent('p\u0000')}`);
    expect(inQuery.status).toBe(400);
    expect(inQuery.body.errors).toEqual([
      expect.objectContaining({ path: 'query.periodId', code: 'control_character' }),
    ]);
  });
});

describe('controlCharErrors', () => {
  const control = fc.constantFrom(
    ...[...Array(0x20).keys(), 0x7f, 0x85, 0x9f]
      .filter((c) => ![9, 10, 13].includes(c))
      .map((c) => String.fromCharCode(c)),
  );
  it('finds any control character anywhere in a nested body, and allows line breaks only where declared', () => {
    fc.assert(
      fc.property(fc.string(), control, fc.string(), (a, c, b) => {
        const body = { note: 'ok', items: [{ text: `${a}${c}${b}` }], csv: 'a,b\r\n1,2\n' };
        const errors = controlCharErrors(body, 'body', new Set(['csv']));
        expect(errors.map((e) => e.path)).toEqual(['body.items.0.text']);
      }),
    );
    expect(controlCharErrors({ csv: 'a\tb\n' }, 'body', new Set(['csv']))).toEqual([]);
    expect(controlCharErrors({ csv: 'a\u0000b' }, 'body', new Set(['csv']))).toHaveLength(1);
    expect(controlCharErrors({ lines: ['x\ny'] }, 'body', new Set(['lines.*']))).toEqual([]);
    expect(controlCharErrors({ 'k\u0000': 'v' }, 'body')).toHaveLength(1);
    expect(controlCharErrors({ name: 'Zoë Ünal\u00a0Ltd' }, 'body')).toEqual([]);
  });
});
