// The embedded PGlite server is one session: while a client is inside a transaction, other clients' queries
// wait. A caller that opens a transaction and then waits for a query on another connection therefore waits
// for ever (issue 13: the manual import and a refused TOTP code did, and wedged the whole test run). The
// server reports such a stall instead of hanging silently, and the waiting query runs once the transaction ends.

import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Database, openDatabase } from '../../src/db/open.ts';
import { PGliteWireServer, type SessionStall } from '../../src/db/pglite-server.ts';
import { sql } from '../../src/db/sql.ts';

describe('embedded PGlite server: a transaction that others wait for', () => {
  let pglite: PGlite;
  let server: PGliteWireServer;
  let db: Database;
  const stalls: SessionStall[] = [];
  let stalled: () => void = () => {};

  beforeAll(async () => {
    pglite = await PGlite.create('memory://');
    server = new PGliteWireServer(pglite, {
      stallWarningMs: 200,
      onStall: (s) => {
        stalls.push(s);
        stalled();
      },
    });
    const port = await server.listen(0, '127.0.0.1');
    db = await openDatabase({ url: `postgres://postgres@127.0.0.1:${port}/postgres`, poolMax: 4 });
  });
  afterAll(async () => {
    await db?.close();
    await server?.close();
    await pglite?.close();
  });

  it('reports the idle transaction, then runs the waiting query when it commits', async () => {
    const reported = new Promise<void>((resolve) => {
      stalled = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let inside!: () => void;
    const begun = new Promise<void>((resolve) => {
      inside = resolve;
    });
    // A transaction that has run a statement and now waits on something else, not on the database.
    const tx = db.em().transactional(async (em) => {
      await sql(em, 'SELECT 1');
      inside();
      await held;
    });
    await begun;
    // Another connection's query queues behind it.
    const other = sql<{ n: number }>(db.em(), 'SELECT 2 AS n');
    await reported;
    expect(stalls).toEqual([{ idleMs: expect.any(Number), waitingClients: 1 }]);
    expect(stalls[0]!.idleMs).toBeGreaterThanOrEqual(200);

    release();
    await tx;
    expect(await other).toEqual([{ n: 2 }]);
  });

  it('reports nothing when nobody waits for a transaction', async () => {
    const before = stalls.length;
    await db.em().transactional(async (em) => {
      await sql(em, 'SELECT 1');
      // Idle inside the transaction, longer than the warning threshold, with no other client queued.
      await new Promise((r) => setTimeout(r, 400));
      await sql(em, 'SELECT 2');
    });
    expect(await sql<{ n: number }>(db.em(), 'SELECT 3 AS n')).toEqual([{ n: 3 }]);
    expect(stalls.length).toBe(before);
  });
});
