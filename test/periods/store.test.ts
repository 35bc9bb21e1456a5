// The period store's status moves on PostgreSQL: close (idempotent, keeps its plan version), reopen, post,
// and the closed periods an approver's queue lists.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPeriodStore } from '../../src/periods/store.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
let store: ReturnType<typeof createPeriodStore>;

beforeAll(async () => {
  db = await createTestDatabase('period store');
  store = createPeriodStore(db.schema);
});
afterAll(async () => {
  await db.drop();
});

describe('period store', () => {
  it('closes once, reopens and closes anew, lists closed periods in id order', async () => {
    expect(await store.close(db.em(), '2026-03', 'v1')).toBe('v1');
    // Closed already: the version it was closed with stays.
    expect(await store.close(db.em(), '2026-03', 'v2')).toBe('v1');
    expect(await store.close(db.em(), '2026-01', 'v1')).toBe('v1');
    expect(await store.close(db.em(), '2026-02', 'v1')).toBe('v1');
    expect(await store.closedPeriodIds(db.em(), 10)).toEqual(['2026-01', '2026-02', '2026-03']);
    expect(await store.closedPeriodIds(db.em(), 2)).toEqual(['2026-01', '2026-02']);

    await store.setStatus(db.em(), '2026-02', 'closed', 'reopened');
    await store.setStatus(db.em(), '2026-01', 'closed', 'posted');
    // Not closed: nothing moves.
    await store.setStatus(db.em(), '2026-01', 'closed', 'reopened');
    expect((await store.period(db.em(), '2026-01'))?.status).toBe('posted');
    expect(await store.closedPeriodIds(db.em(), 10)).toEqual(['2026-03']);

    expect(await store.close(db.em(), '2026-02', 'v2')).toBe('v2');
    expect(await store.period(db.em(), '2026-02')).toMatchObject({ status: 'closed', plan_version: 'v2' });
  });
});
