// Every bad input is a 4xx problem+json and writes nothing (issue 14, findings 5 and 6): tampered cursors
// on the payout list and the wallet, credits beyond bigint, earnings outside any period, periods that do
// not exist or have not begun, oversized headers. Each of these was a 500 (or a plain 431, or a success).
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;
let payeeId: string;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const BIGINT_MAX = '9223372036854775807';

beforeAll(async () => {
  stack = await startStack('bad_input');
  payeeId = await stack.createPayee({ credit: '10000' });
  await stack.credit(payeeId, '2500');
  await stack.requestPayout(payeeId, '100');
  await stack.requestPayout(payeeId, '200');
});
afterAll(async () => {
  await stack?.close();
});

async function rows(table: string, where = 'true'): Promise<number> {
  const r = await sql<{ n: string }>(
    stack.db.em(),
    `SELECT count(*)::text AS n FROM "${stack.db.schema}".${table} WHERE ${where}`,
  );
  return Number(r[0]!.n);
}
// The payouts requested in beforeAll post their own holds meanwhile: count credits only.
const credits = () => rows('ledger_transactions', `idempotency_key LIKE 'earnings-credit:%'`);

function expectProblem(
  res: { status: number; contentType: string; body: { kind?: string } },
  status: number,
) {
  expect(res.contentType).toContain('application/problem+json');
  expect(res.status).toBe(status);
}

describe('cursors are checked before they reach SQL', () => {
  it.each([
    ['a day that does not exist', b64(['2026-02-30T00:00:00Z', 'po_abcdefgh'])],
    ['a number for the instant', b64(['1', 'po_abcdefgh'])],
    ['year 0000', b64(['0000-01-01T00:00:00.000Z', 'po_abcdefgh'])],
    ['NUL in the id', b64(['2026-01-01T00:00:00.000Z', 'po_abc\u0000defgh'])],
    ['not a payout id', b64(['2026-01-01T00:00:00.000Z', 'po_x'])],
    ['an object', b64({ at: '2026-01-01T00:00:00.000Z' })],
    ['not base64 JSON', 'garbage!'],
  ])('payout list, %s: 400', async (_what, cursor) => {
    const res = await stack.call('GET', `/v1/payouts?cursor=${encodeURIComponent(cursor)}`);
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'query.cursor' })]);
  });

  it.each([
    ['beyond bigint', b64({ v: 1, before: '9999999999999999999' })],
    ['zero', b64({ v: 1, before: '0' })],
    ['a number, not a string', b64({ v: 1, before: 5 })],
    ['another version', b64({ v: 2, before: '5' })],
    ['not base64 JSON', 'garbage!'],
  ])('wallet, %s: 400', async (_what, cursor) => {
    const res = await stack.call('GET', `/v1/payees/${payeeId}/wallet?cursor=${encodeURIComponent(cursor)}`);
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'query.cursor' })]);
  });

  it('the cursors the API hands out still page on', async () => {
    const first = await stack.call('GET', '/v1/payouts?limit=1');
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const next = await stack.call('GET', `/v1/payouts?limit=1&cursor=${first.body.nextCursor}`);
    expect(next.status).toBe(200);
    expect(next.body.items[0].id).not.toBe(first.body.items[0].id);

    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet?limit=1`);
    const cursor = wallet.body.transactions.nextCursor;
    expect(cursor).toEqual(expect.any(String));
    const more = await stack.call('GET', `/v1/payees/${payeeId}/wallet?limit=1&cursor=${cursor}`);
    expect(more.status).toBe(200);
  });
});

describe('amounts beyond bigint', () => {
  it.each([
    ['an amount beyond bigint', '9999999999999999999'],
    ['a balance it would push beyond bigint', BIGINT_MAX],
  ])('a credit of %s: 422 naming the limit, nothing written', async (_what, amount) => {
    const before = await credits();
    const res = await stack.call('POST', `/v1/payees/${payeeId}/credits`, {
      body: { amount: { amount, currency: 'USD', scale: 2 }, reference: `big-${amount}` },
    });
    expectProblem(res, 422);
    expect(res.body.detail).toContain(BIGINT_MAX);
    expect(await credits()).toBe(before);
  });
});

describe('earnings and periods', () => {
  it.each([
    ['0001-01-01', '0001-01-01T00:00:00Z'],
    ['before 1970', '1969-12-31T12:00:00Z'],
  ])('an earnings event dated %s is outside any period: 422, nothing written', async (_what, occurredAt) => {
    const before = await rows('earnings_events');
    const res = await stack.call('POST', '/v1/earnings', {
      body: {
        events: [
          {
            externalId: `old-${occurredAt.slice(0, 4)}`,
            payeeId,
            type: 'commission',
            amount: { amount: '100', currency: 'USD', scale: 2 },
            occurredAt,
          },
        ],
      },
    });
    expectProblem(res, 422);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ path: 'body.events.0', code: 'event_rejected' }),
    ]);
    expect(res.body.errors[0].message).toMatch(/outside any commission period/);
    expect(await rows('earnings_events')).toBe(before);
  });

  it.each([
    ['a future period', '/v1/periods/2099-01/close', 422],
    ['a period of another calendar', '/v1/periods/2026-W10/close', 422],
    ['month 99', '/v1/periods/9999-99/close', 400],
    ['month 13', '/v1/periods/2026-13/close', 400],
    ['week 54', '/v1/periods/2026-W54/close', 400],
  ])('closing %s is refused and closes nothing', async (_what, path, status) => {
    const before = await rows('periods');
    const res = await stack.call('POST', path, { body: {} });
    expectProblem(res, status);
    expect(await rows('periods')).toBe(before);
  });

  it.each([['9999-99'], ['2026-00'], ['0999-01'], ['2026-W00']])('?period=%s is a 400', async (period) => {
    const res = await stack.call('GET', `/v1/payees/${payeeId}/earnings?period=${period}`);
    expectProblem(res, 400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'query.period' })]);
  });
});

describe('oversized headers', () => {
  it('answer 431 as problem+json', async () => {
    const url = new URL(stack.url);
    const res = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/v1/payouts',
          headers: { 'x-padding': 'a'.repeat(20_000) },
        },
        (r) => {
          let body = '';
          r.on('data', (c) => {
            body += c;
          });
          r.on('end', () => resolve({ status: r.statusCode!, type: r.headers['content-type'] ?? '', body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(431);
    expect(res.type).toContain('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ status: 431, kind: 'headers_too_large' });
  });
});
