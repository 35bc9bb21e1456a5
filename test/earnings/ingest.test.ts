// Earnings ingestion through the API: bad input gets a problem+json 4xx and writes nothing; duplicates
// and calendars behave as documented.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { type Stack, startStack } from '../support/stack.ts';

let stack: Stack;
let payee: string;

beforeAll(async () => {
  stack = await startStack('earnings-ingest', {
    env: { PERIOD_CALENDAR: 'semi_monthly', PERIOD_TIMEZONE: 'America/New_York' },
  });
  payee = await stack.createPayee();
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const usd = (amount: string) => ({ amount, currency: 'USD', scale: 2 });
const ok = (over: Record<string, unknown> = {}) => ({
  externalId: `x-${Math.random().toString(36).slice(2)}`,
  payeeId: payee,
  type: 'sale',
  amount: usd('1000'),
  occurredAt: '2026-09-10T12:00:00Z',
  volume: 10,
  ...over,
});

async function eventCount(): Promise<number> {
  const [r] = await sql<{ n: string }>(
    stack.db.em(),
    `SELECT count(*)::text AS n FROM "${stack.db.schema}".earnings_events`,
  );
  return Number(r?.n);
}

describe('POST /v1/earnings', () => {
  it.each([
    ['a negative sale', { amount: usd('-5') }, 400],
    ['a zero amount', { amount: usd('0') }, 400],
    ['a fractional amount', { amount: { amount: '10.5', currency: 'USD', scale: 2 } }, 400],
    ['an unknown type', { type: 'tip' }, 400],
    ['an unknown field', { note: 'x' }, 400],
    ['a date without offset', { occurredAt: '2026-09-10 12:00' }, 400],
    ['a fractional volume', { volume: 1.5 }, 400],
    ['an unknown payee', { payeeId: 'pe_000000000000000000000000' }, 422],
  ])('refuses %s and writes nothing', async (_name, over, status) => {
    const before = await eventCount();
    const res = await stack.call('POST', '/v1/earnings', { body: { events: [ok(), ok(over)] } });
    expect(res.status).toBe(status);
    expect(res.contentType).toContain('application/problem+json');
    expect(await eventCount()).toBe(before);
  });

  it('refuses more than 10,000 events in one request', async () => {
    const events = Array.from({ length: 10_001 }, (_, i) => ok({ externalId: `big-${i}` }));
    const res = await stack.call('POST', '/v1/earnings', { body: { events } });
    expect(res.status).toBe(400);
  });

  it('accepts a full 10,000-event batch and lands events in the semi-monthly period of New York time', async () => {
    const events = Array.from({ length: 10_000 }, (_, i) =>
      ok({ externalId: `full-${i}`, occurredAt: i % 2 ? '2026-09-16T03:00:00Z' : '2026-09-16T05:00:00Z' }),
    );
    const res = await stack.call('POST', '/v1/earnings', { body: { events } });
    expect(res.status).toBe(200);
    // 03:00Z on the 16th is still the 15th in New York (first half); 05:00Z is the 16th (second half).
    expect(res.body.periods).toEqual([
      { periodId: '2026-09-H1', events: 5_000 },
      { periodId: '2026-09-H2', events: 5_000 },
    ]);
    const replay = await stack.call('POST', '/v1/earnings', { body: { events } });
    expect(replay.body).toMatchObject({ accepted: 0, duplicates: 10_000 });
  }, 60_000);

  it('refuses the same externalId twice in one batch with different content', async () => {
    const a = ok({ externalId: 'twin' });
    const res = await stack.call('POST', '/v1/earnings', { body: { events: [a, { ...a, volume: 11 }] } });
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toContain('twin');
  });

  it('shows provisional earnings only to the payee itself among payee tokens', async () => {
    const other = await stack.createPayee();
    const token = await stack.call('POST', `/v1/payees/${other}/tokens`, { body: {} });
    const key = token.body.token as string;
    const own = await stack.call('GET', `/v1/payees/${other}/earnings?period=2026-09-H1`, { key });
    expect(own.status).toBe(200);
    const foreign = await stack.call('GET', `/v1/payees/${payee}/earnings?period=2026-09-H1`, { key });
    expect(foreign.status).toBe(404);
  });
});
