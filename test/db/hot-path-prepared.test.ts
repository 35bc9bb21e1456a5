// The statements sent once per payout — the API's rate-limit take, admission read and payout insert, the
// worker's screening and submission reads — are prepared once per connection on PostgreSQL and executed
// from there after (src/db/prepared.ts), and answer what they answer unprepared. PGlite prepares none.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EntityManager } from '@mikro-orm/postgresql';
import { SharedRateLimiter } from '../../src/api/rate-limit.ts';
import { loadConfig } from '../../src/config/index.ts';
import { type Database, openDatabase } from '../../src/db/open.ts';
import { sql } from '../../src/db/sql.ts';
import { admissionFacts } from '../../src/payouts/admission.ts';
import { destinationKindFor } from '../../src/payouts/service.ts';
import { PayoutStore } from '../../src/payouts/store.ts';
import { startTestApi, type TestApi } from '../api/support.ts';
import { testDatabaseKind } from '../support/db.ts';

let api: TestApi;
let payeeId: string;
// Fresh connections of their own (one each), so what their sessions hold was sent by this test only.
let prepared: Database;
let unprepared: Database;

beforeAll(async () => {
  api = await startTestApi('hot_path_prepared');
  payeeId = (await api.createPayee({ name: 'Pat', payoutPreferences: { preferredMethod: 'bank_account' } }))
    .id;
  const body = { holderName: 'Pat', country: 'GB', currency: 'GBP', iban: 'GB82 WEST 1234 5698 7654 32' };
  expect((await api.call('PUT', `/v1/payees/${payeeId}/destinations/bank_account`, { body })).status).toBe(
    200,
  );
  const open = (preparedStatements: boolean) =>
    openDatabase({ url: loadConfig().database.url!, schema: api.db.schema, poolMax: 1, preparedStatements });
  prepared = await open(true);
  unprepared = await open(false);
});
afterAll(async () => {
  await prepared?.close();
  await unprepared?.close();
  await api?.close();
});

const now = new Date('2026-05-01T10:00:00Z');

/** One payout's hot-path statements, on `em`'s connection. */
async function hotPath(db: Database, em: EntityManager, payoutId: string) {
  // The limiter runs on the caller's transaction: the same connection as the rest.
  const limiter = new SharedRateLimiter({
    db: { ...db, em: () => em },
    ratePerSecond: 1,
    burst: 5,
    now: () => now.getTime(),
  });
  const store = new PayoutStore(db.schema);
  return {
    take: await limiter.take(`hot-path:${payoutId}`),
    admission: await admissionFacts(em, db.schema, { payeeId, payoutId, currency: 'EUR' }),
    inserted: await store.insertReturning(em, {
      id: payoutId,
      payeeId,
      amount: '1000',
      currency: 'EUR',
      scale: 2,
      method: 'bank_transfer',
      instantRequested: true,
      requestedBy: 'acme-backend',
      requestedRole: 'platform',
    }),
    screening: await store.getForScreening(em, payoutId, now),
    submission: await store.getForSubmission(em, payoutId, destinationKindFor),
  };
}

/** A distinctive part of each statement's text. */
const statements = {
  take: 'rate_limit_buckets AS b',
  admission: 'AS _preferred_method',
  insert: '."payouts" (id, payee_id',
  screening: 'AS recent_n',
  submission: 'AS holder_name',
};

describe('the hot path', () => {
  it('prepares each statement once on the connection and executes it from there after', async () => {
    const id = `po_${randomBytes(12).toString('hex')}`;
    const { first, again, sessions } = await prepared.em().transactional(async (tx) => {
      const first = await hotPath(prepared, tx, id);
      const again = await hotPath(prepared, tx, id);
      const sessions = await sql<{ statement: string; executions: number }>(
        tx,
        `SELECT statement, (generic_plans + custom_plans)::int AS executions FROM pg_prepared_statements`,
      );
      return { first, again, sessions };
    });
    const executions = Object.fromEntries(
      Object.entries(statements).map(([step, part]) => [
        step,
        sessions.filter((s) => s.statement.includes(part)).map((s) => s.executions),
      ]),
    );
    const each = testDatabaseKind() === 'pglite' ? [] : [2];
    expect(executions).toEqual({
      take: each,
      admission: each,
      insert: each,
      screening: each,
      submission: each,
    });

    // The answers: a new payout the first time, the payout this key made the second time.
    expect(first.take).toMatchObject({ allowed: true, remaining: 4, shared: true });
    expect(again.take).toMatchObject({ allowed: true, remaining: 3, shared: true });
    expect(first.admission).toEqual({
      preferredMethod: 'bank_account',
      destinationKinds: ['bank_account'],
      available: 0n,
      existing: null,
    });
    expect(first.inserted).toEqual(await new PayoutStore(api.db.schema).get(api.db.em(), id));
    expect(again.admission?.existing).toEqual(first.inserted);
    expect(again.inserted).toBeNull();
    expect(first.screening?.payout).toEqual(first.inserted);
    expect(first.submission?.payout).toEqual(first.inserted);
    expect(first.submission?.holder?.name).toBe('Pat');
    expect(first.submission?.destination).not.toBeNull();

    // The same statements unprepared answer the same (the bucket has spent one more token by then).
    const plain = await unprepared.em().transactional((tx) => hotPath(unprepared, tx, id));
    expect(plain.take).toMatchObject({ allowed: true, remaining: 2, shared: true });
    expect({ ...plain, take: null }).toEqual({ ...again, take: null });
  });
});
