// The sandbox's submit path in one statement (issue #18): its cost, and that it stays exclusive with a void.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sqlSent } from '../../bench/sql-count.ts';
import { sql } from '../../src/db/sql.ts';
import { isProviderError } from '../../src/providers/errors.ts';
import { SandboxProvider } from '../../src/providers/sandbox/provider.ts';
import { listSandboxDisbursements } from '../../src/providers/sandbox/store.ts';
import type { SubmitResult } from '../../src/providers/types.ts';
import { keyLockText } from '../../src/providers/voided-keys.ts';
import { createTestDatabase, type TestDatabase, testDatabaseKind } from '../support/db.ts';
import { submitRequest } from './submit-request.ts';

let db: TestDatabase;
const clock = () => new Date('2026-11-21T12:00:00Z');
// Holding a lock from the test needs a second session (PGlite has one).
const itOnServer = testDatabaseKind() === 'postgresql' ? it : it.skip;

async function outcome(p: Promise<SubmitResult>): Promise<string> {
  try {
    const r = await p;
    return `${r.state}:${r.providerRef}`;
  } catch (err) {
    if (isProviderError(err)) return `${err.kind}:${err.code}`;
    throw err;
  }
}

/** Waits until `n` lock requests of this test's sessions wait (on a key lock, or on a table). */
async function waitForLockWaiters(n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const rows = await sql<{ n: number }>(
      db.em(),
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE NOT l.granted AND a.application_name = $1`,
      [db.schema],
    );
    if (rows[0]!.n >= n) return;
    await sleep(10);
  }
  throw new Error(`fewer than ${n} lock requests wait`);
}

beforeAll(async () => {
  db = await createTestDatabase('providers_sandbox_submit');
});
afterAll(async () => {
  await db.drop();
});

describe('SandboxProvider submit in one statement', () => {
  it('a first submission is one statement (no BEGIN or COMMIT); it records the disbursement and its paid event', async () => {
    const p = new SandboxProvider({ name: 'sb_one', db, clock });
    const req = submitRequest();
    const sent = await sqlSent(() => p.submit(req));
    const first = sent.result;
    expect(first).toEqual({ state: 'paid', providerRef: `sb_one_${req.idempotencyKey}` });
    // Sent on its own, the statement is its own transaction.
    expect(sent).toMatchObject({ roundTrips: 1, statements: 1, transactions: 1 });
    expect(await p.disbursement(req.idempotencyKey)).toMatchObject({ state: 'paid', amountMinor: 10000n });
    expect((await p.events({ idempotencyKey: req.idempotencyKey })).map((e) => e.eventId)).toEqual([
      `sb_one.paid.${req.idempotencyKey}`,
    ]);
    // A retry: the conflict, then the stored row (the rare path may cost more).
    const retry = await sqlSent(() => p.submit(req));
    expect(retry.result).toEqual(first);
    expect(retry).toMatchObject({ roundTrips: 2, statements: 2, transactions: 2 });
    expect(await p.events({ idempotencyKey: req.idempotencyKey })).toHaveLength(1);
    // Same key, other content: refused as before, the stored row untouched.
    const reused = await outcome(p.submit({ ...req, payoutId: 'po_other' }));
    expect(reused).toBe('hard_decline:idempotency_key_reused');
    expect(await listSandboxDisbursements(db, { payoutId: 'po_other' })).toHaveLength(0);
  });

  it('pending and declined first submissions record no event; a voided key records nothing', async () => {
    const p = new SandboxProvider({ name: 'sb_kinds', db, clock });
    const batch = submitRequest({ rail: 'batch' });
    expect(await p.submit(batch)).toMatchObject({ state: 'pending' });
    const declined = submitRequest({ destination: 'US-ACCT-55510001' });
    expect(await outcome(p.submit(declined))).toBe('hard_decline:account_closed');
    expect(await p.disbursement(declined.idempotencyKey)).toMatchObject({ state: 'failed' });
    expect(await p.events()).toEqual([]);

    const late = submitRequest();
    expect(await p.cancel(late.idempotencyKey)).toMatchObject({ cancelled: true, state: 'not_found' });
    expect(await outcome(p.submit(late))).toBe('hard_decline:idempotency_key_voided');
    expect(await p.disbursement(late.idempotencyKey)).toBeUndefined();
    expect(await p.events({ idempotencyKey: late.idempotencyKey })).toEqual([]);
  });

  itOnServer(
    'a void that commits while a submit statement waits is seen by it (the submit is refused)',
    async () => {
      const p = new SandboxProvider({ name: 'sb_wait', db, clock });
      const req = submitRequest();
      // Hold the key's lock so the cancel queues on it first, then start the submit behind the cancel.
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const holder = db.em().transactional(async (tx) => {
        await sql(tx, 'SELECT pg_advisory_xact_lock(hashtext($1))', [
          keyLockText('sb_wait', req.idempotencyKey),
        ]);
        locked();
        await held;
      });
      await lockTaken;
      const cancel = p.cancel(req.idempotencyKey);
      await waitForLockWaiters(1);
      const submit = outcome(p.submit(req));
      await waitForLockWaiters(2);
      release();
      await holder;
      // The cancel was first in line: it voids; the submit, whose statement started before that void
      // committed, must still see it.
      expect(await cancel).toEqual({
        cancelled: true,
        state: 'not_found',
        reason: 'voided: never submitted',
      });
      expect(await submit).toBe('hard_decline:idempotency_key_voided');
      expect(await p.disbursement(req.idempotencyKey)).toBeUndefined();
      expect(await p.events({ idempotencyKey: req.idempotencyKey })).toEqual([]);
    },
  );

  itOnServer('parallel submits of one key and a racing void: exactly one outcome', async () => {
    const p = new SandboxProvider({ name: 'sb_void_race', db, clock });
    const seen = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const req = submitRequest();
      const submits = Array.from({ length: 8 }, (_, i) =>
        (async () => {
          if (i % 2 === 1) await sleep(round % 3);
          return outcome(p.submit(req));
        })(),
      );
      const cancel = (async () => {
        await sleep(round % 4);
        return p.cancel(req.idempotencyKey);
      })();
      const [answers, cancelled] = await Promise.all([Promise.all(submits), cancel]);
      const rows = await listSandboxDisbursements(db, { payoutId: req.payoutId });
      const events = await p.events({ idempotencyKey: req.idempotencyKey });
      expect(new Set(answers).size).toBe(1);
      if (cancelled.state === 'not_found') {
        seen.add('voided');
        expect(cancelled).toEqual({ cancelled: true, state: 'not_found', reason: 'voided: never submitted' });
        expect(answers[0]).toBe('hard_decline:idempotency_key_voided');
        expect(rows).toHaveLength(0);
        expect(events).toHaveLength(0);
      } else {
        seen.add('submitted');
        expect(cancelled).toMatchObject({ cancelled: false, state: 'paid' });
        expect(answers[0]).toBe(`paid:sb_void_race_${req.idempotencyKey}`);
        expect(rows).toHaveLength(1);
        expect(events).toHaveLength(1);
      }
    }
    expect(seen.size).toBeGreaterThan(0);
  });
});
