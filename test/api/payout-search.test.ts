// Operator search over payouts (GET /v1/payouts, GET /v1/payouts/export.csv): each filter against an oracle
// computed from the seeded rows, keyset pages that neither skip nor repeat (payouts created in the same
// millisecond included), a payee token confined to its own payouts, bad filters as 400 problem+json, and
// an index behind every filter.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import type { TestDatabase } from '../support/db.ts';
import { startPayoutApi } from './payout-support.ts';
import type { TestApi } from './support.ts';

interface Seed {
  id: string;
  payeeId: string;
  state: string;
  provider: string | null;
  currency: string;
  amount: bigint;
  periodId: string | null;
  bulkId: string | null;
  /** Microseconds since the epoch (PostgreSQL keeps created_at to the microsecond). */
  createdAtUs: bigint;
}

let db: TestDatabase;
let api: TestApi;
let close: () => Promise<void>;
let payees: string[];
const seeds: Seed[] = [];

const BASE_US = BigInt(Date.UTC(2026, 10, 1)) * 1000n;
const DAY_US = 86_400_000_000n;
const isoOf = (us: bigint) => {
  const ms = us / 1000n;
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${(us % 1_000_000n).toString().padStart(6, '0')}Z`;
};

beforeAll(async () => {
  ({ db, api, close } = await startPayoutApi('payout_search'));
  payees = [(await api.createPayee()).id, (await api.createPayee()).id, (await api.createPayee()).id];
  const states = ['paid', 'unknown_outcome', 'review', 'failed', 'pending_approval'];
  const providers = ['stripe', 'wise', null];
  let n = 0;
  for (let day = 0; day < 6; day++) {
    for (let i = 0; i < 5; i++) {
      n++;
      seeds.push({
        id: `po_search${n.toString().padStart(6, '0')}`,
        payeeId: payees[n % 3]!,
        state: states[(n * 7) % 5]!,
        provider: providers[n % 3]!,
        currency: n % 4 === 0 ? 'EUR' : 'USD',
        amount: BigInt(100 * n),
        periodId: n % 5 === 0 ? '2026-11' : null,
        bulkId: n % 6 === 0 ? 'bulk_search0001' : null,
        // Three payouts share each millisecond, microseconds apart.
        createdAtUs: BASE_US + BigInt(day) * DAY_US + BigInt(Math.floor(i / 3)) * 1000n + BigInt(i % 3),
      });
    }
  }
  for (const s of seeds) {
    await sql(
      db.em(),
      `INSERT INTO "${db.schema}".payouts (id, payee_id, amount, currency, scale, method, instant_requested,
         state, provider, requested_by, requested_role, period_id, bulk_id, created_at)
       VALUES ($1, $2, $3, $4, 2, 'bank_transfer', true, $5, $6, 'acme-backend', 'platform', $7, $8, $9::timestamptz)`,
      [
        s.id,
        s.payeeId,
        s.amount.toString(),
        s.currency,
        s.state,
        s.provider,
        s.periodId,
        s.bulkId,
        isoOf(s.createdAtUs),
      ],
    );
  }
});
afterAll(async () => {
  await close?.();
});

/** Every id the search answers, following nextCursor with small pages. */
async function allPages(query: string, key?: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const sep = query ? '&' : '';
    const path = `/v1/payouts?${query}${sep}limit=4${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await api.call('GET', path, key ? { key } : {});
    expect(res.status).toBe(200);
    ids.push(...res.body.items.map((p: { id: string }) => p.id));
    cursor = res.body.nextCursor;
  } while (cursor);
  return ids;
}

/** Newest first, as the API orders them. */
const expected = (keep: (s: Seed) => boolean) =>
  seeds
    .filter(keep)
    .sort((a, b) =>
      a.createdAtUs === b.createdAtUs ? (a.id < b.id ? 1 : -1) : a.createdAtUs < b.createdAtUs ? 1 : -1,
    )
    .map((s) => s.id);

const day = (d: number) =>
  new Date(Number((BASE_US + BigInt(d) * DAY_US) / 1000n)).toISOString().slice(0, 10);

describe('GET /v1/payouts search', () => {
  it('pages through everything once, in order, though payouts share a millisecond', async () => {
    const ids = await allPages('');
    expect(ids).toEqual(expected(() => true));
    expect(new Set(ids).size).toBe(seeds.length);
  });

  const cases: [string, () => string, (s: Seed) => boolean][] = [
    ['one state', () => 'state=unknown_outcome', (s) => s.state === 'unknown_outcome'],
    ['several states', () => 'state=review,failed', (s) => s.state === 'review' || s.state === 'failed'],
    ['payee', () => `payee=${payees[1]}`, (s) => s.payeeId === payees[1]],
    ['period', () => 'periodId=2026-11', (s) => s.periodId === '2026-11'],
    ['bulk', () => 'bulkId=bulk_search0001', (s) => s.bulkId === 'bulk_search0001'],
    ['provider', () => 'provider=wise', (s) => s.provider === 'wise'],
    ['currency', () => 'currency=EUR', (s) => s.currency === 'EUR'],
    [
      'amount range (inclusive)',
      () => 'currency=USD&amountMin=500&amountMax=1500',
      (s) => s.currency === 'USD' && s.amount >= 500n && s.amount <= 1500n,
    ],
    [
      'amount floor only',
      () => 'currency=USD&amountMin=2500',
      (s) => s.currency === 'USD' && s.amount >= 2500n,
    ],
    [
      'created range by dates (from inclusive, to exclusive)',
      () => `createdFrom=${day(2)}&createdTo=${day(4)}`,
      (s) => s.createdAtUs >= BASE_US + 2n * DAY_US && s.createdAtUs < BASE_US + 4n * DAY_US,
    ],
    [
      'created range by instants with an offset',
      // 01:00+02:00 is 23:00 UTC the day before: day 1 starts inside the range.
      () => `createdFrom=${day(1)}T01:00:00%2B02:00&createdTo=${day(1)}T00:00:00.002Z`,
      (s) => s.createdAtUs >= BASE_US + DAY_US - 3_600_000_000n && s.createdAtUs < BASE_US + DAY_US + 2000n,
    ],
    [
      'every filter at once',
      () => `state=paid,review&provider=stripe&currency=USD&amountMin=100&createdFrom=${day(1)}`,
      (s) =>
        ['paid', 'review'].includes(s.state) &&
        s.provider === 'stripe' &&
        s.currency === 'USD' &&
        s.amount >= 100n &&
        s.createdAtUs >= BASE_US + DAY_US,
    ],
  ];
  for (const [name, query, keep] of cases) {
    it(`filters by ${name}`, async () => {
      const want = expected(keep);
      expect(want.length).toBeGreaterThan(0);
      expect(want.length).toBeLessThan(seeds.length);
      expect(await allPages(query())).toEqual(want);
    });
  }

  it('confines a payee token to its own payouts; another payee is not found', async () => {
    const token = await api.payeeToken(payees[2]!);
    expect(await allPages('provider=stripe', token)).toEqual(
      expected((s) => s.payeeId === payees[2] && s.provider === 'stripe'),
    );
    const res = await api.call('GET', `/v1/payouts?payee=${payees[0]}`, { key: token });
    expect(res.status).toBe(404);
    expect(res.body.detail).toBe(`Payee ${payees[0]} not found`);
  });

  it('exports what the search matches as CSV', async () => {
    const res = await api.call('GET', '/v1/payouts/export.csv?provider=wise&currency=USD&amountMax=1000');
    expect(res.status).toBe(200);
    const ids = res.text
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((line) => line.split(',')[0]);
    expect(ids).toEqual(expected((s) => s.provider === 'wise' && s.currency === 'USD' && s.amount <= 1000n));
  });

  const bad: [string, string, string][] = [
    ['an unknown state', 'state=paid,lost', 'query.state.1'],
    ['an empty state list', 'state=', 'query.state'],
    // Renamed before 1.0 (the glossary says state): the old name is refused, not taken as an alias.
    ['the old name of the state filter', 'status=review', 'query.status'],
    ['an amount without currency', 'amountMin=100', 'query.amountMin'],
    ['a decimal amount', 'currency=USD&amountMax=12.50', 'query.amountMax'],
    ['an amount beyond bigint', 'currency=USD&amountMin=9999999999999999999', 'query.amountMin'],
    ['a minimum above the maximum', 'currency=USD&amountMin=500&amountMax=100', 'query.amountMax'],
    ['a lower-case currency', 'currency=usd', 'query.currency'],
    ['an unknown currency', 'currency=ZZZ&amountMin=1', 'query.currency'],
    ['a date that does not exist', 'createdFrom=2026-02-30', 'query.createdFrom'],
    ['a date-time without zone', 'createdTo=2026-11-30T12:00:00', 'query.createdTo'],
    ['an hour 24', 'createdTo=2026-11-30T24:00:00Z', 'query.createdTo'],
    ['an empty range', `createdFrom=${day(3)}&createdTo=${day(3)}`, 'query.createdTo'],
    ['a provider name with spaces', 'provider=my%20bank', 'query.provider'],
    ['an unknown parameter', 'amount=100', 'query.amount'],
  ];
  for (const [name, query, path] of bad) {
    it(`refuses ${name} with 400 problem+json naming ${path}`, async () => {
      const res = await api.call('GET', `/v1/payouts?${query}`);
      expect(res.status).toBe(400);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
      const csv = await api.call('GET', `/v1/payouts/export.csv?${query}`);
      expect(csv.status).toBe(400);
    });
  }

  it('refuses the old `status` filter with the name to use instead', async () => {
    for (const path of ['/v1/payouts', '/v1/payouts/export.csv']) {
      const res = await api.call('GET', `${path}?status=review`);
      expect(res.body.errors).toEqual([
        { path: 'query.status', message: 'unknown field (renamed): use `state`', code: 'unrecognized_key' },
      ]);
      expect(res.body.detail).toContain('use `state`');
    }
  });

  it('has an index for each filter (the planner uses it when scans are ruled out)', async () => {
    const plans: Record<string, string> = {
      payouts_provider_idx: "provider = 'wise'",
      payouts_period_idx: "period_id = '2026-11'",
      payouts_bulk_idx: "bulk_id = 'bulk_search0001'",
      payouts_currency_amount_idx: "currency = 'USD' AND amount BETWEEN 100 AND 900",
      payouts_state_idx: "state = 'review'",
      payouts_payee_idx: `payee_id = '${payees[0]}'`,
    };
    await db.em().transactional(async (tx) => {
      await sql(tx, 'SET LOCAL enable_seqscan = off');
      for (const [index, where] of Object.entries(plans)) {
        const rows = await sql<{ 'QUERY PLAN': string }>(
          tx,
          `EXPLAIN SELECT * FROM "${db.schema}".payouts WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT 51`,
        );
        expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toContain(index);
      }
    });
  });
});
