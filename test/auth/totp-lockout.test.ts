// Approver TOTP attempt limits (issue 14, finding 4): 5 wrong codes lock the approver out, right code or not,
// for a growing interval; every failure and lock is audited; the lock is in PostgreSQL (any API process sees
// it); an operator can lift it. The app's clock is injected: nothing here waits.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { enrollApproverTotp, verifyApproverTotp } from '../../src/auth/approver-totp.ts';
import { totp } from '../../src/auth/totp.ts';
import { afterFailure, DEFAULT_TOTP_LOCK_POLICY, lockSeconds } from '../../src/auth/totp-lockout.ts';
import { sql } from '../../src/db/sql.ts';
import { startTestApi, type TestApi, testApproveRoute } from '../api/support.ts';

let api: TestApi;
let clock = new Date('2026-03-02T10:00:00Z');
const secret = randomBytes(20);
const advance = (seconds: number) => {
  clock = new Date(clock.getTime() + seconds * 1000);
};
const rightCode = () => totp(secret, Math.floor(clock.getTime() / 1000));
const wrongCode = () => (rightCode() === '000000' ? '111111' : '000000');
const approve = (code: string) =>
  api.call('POST', '/v1/test/approve', { key: api.keys.approver.key, body: { totp: code } });

async function audits(action: string): Promise<Record<string, unknown>[]> {
  const rows = await sql<{ details: Record<string, unknown> }>(
    api.db.em(),
    `SELECT details FROM "${api.db.schema}".audit_log WHERE action = $1 AND object_id = 'alice' ORDER BY id`,
    [action],
  );
  return rows.map((r) => r.details);
}

beforeAll(async () => {
  api = await startTestApi('totp_lockout', { routes: [testApproveRoute], now: () => clock });
  await enrollApproverTotp(api.db.em(), api.security.keyring, 'alice', { secret });
});
afterAll(async () => {
  await api?.close();
});

describe('TOTP lock policy', () => {
  it.each([
    [1, 300],
    [2, 600],
    [3, 1200],
    [9, 76_800],
    [10, 86_400],
    [60, 86_400],
  ])('lock number %d lasts %d s', (n, seconds) => {
    expect(lockSeconds(n)).toBe(seconds);
  });

  it('counts to 5, then locks and starts counting again', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    let state = { failedAttempts: 0, lockCount: 0, lockedUntil: null as Date | null };
    for (let i = 1; i < DEFAULT_TOTP_LOCK_POLICY.maxFailures; i++) {
      const next = afterFailure(state, now);
      expect(next).toEqual({ failedAttempts: i, lockCount: 0, lockedUntil: null, locked: false });
      state = next;
    }
    expect(afterFailure(state, now)).toEqual({
      failedAttempts: 0,
      lockCount: 1,
      lockedUntil: new Date('2026-01-01T00:05:00Z'),
      locked: true,
    });
  });
});

describe('approver TOTP lockout through the API', () => {
  it('locks after 5 wrong codes, refuses even the right code, audits each failure and the lock', async () => {
    for (let i = 1; i <= 4; i++) {
      const res = await approve(wrongCode());
      expect([res.status, res.body.kind]).toEqual([403, 'totp_invalid']);
    }
    const fifth = await approve(wrongCode());
    expect([fifth.status, fifth.body.kind]).toEqual([403, 'totp_locked']);
    expect(fifth.headers.get('retry-after')).toBe('300');
    expect(fifth.contentType).toContain('application/problem+json');

    const right = await approve(rightCode());
    expect([right.status, right.body.kind]).toEqual([403, 'totp_locked']);
    // The lock is in PostgreSQL: a verification on another connection (any API process) sees it.
    expect(await verifyApproverTotp(api.db.em(), api.security.keyring, 'alice', rightCode(), clock)).toEqual({
      ok: false,
      reason: 'locked',
      lockedUntil: new Date(clock.getTime() + 300_000),
    });

    const failed = await audits('approver.totp_failed');
    expect(failed.map((d) => d.reason)).toEqual([
      'invalid_code',
      'invalid_code',
      'invalid_code',
      'invalid_code',
      'invalid_code',
      'locked',
    ]);
    expect(failed.slice(0, 5).map((d) => d.failedAttempts)).toEqual([1, 2, 3, 4, 5]);
    const locks = await audits('approver.totp_locked');
    expect(locks).toEqual([{ lockedUntil: new Date(clock.getTime() + 300_000).toISOString(), lockCount: 1 }]);
  });

  it('a lock that runs out and is earned again lasts twice as long', async () => {
    advance(300);
    for (let i = 1; i <= 4; i++) expect((await approve(wrongCode())).body.kind).toBe('totp_invalid');
    const fifth = await approve(wrongCode());
    expect(fifth.body.kind).toBe('totp_locked');
    expect(fifth.headers.get('retry-after')).toBe('600');
  });

  it('only an operator can lift the lock; then the right code is accepted and the count starts afresh', async () => {
    const byApprover = await api.call('POST', '/v1/approvers/alice/totp/unlock', {
      key: api.keys.approver.key,
    });
    expect(byApprover.status).toBe(403);
    const unknown = await api.call('POST', '/v1/approvers/nobody/totp/unlock', {
      key: api.keys.operator.key,
    });
    expect(unknown.status).toBe(404);

    const unlock = await api.call('POST', '/v1/approvers/alice/totp/unlock', { key: api.keys.operator.key });
    expect(unlock.status).toBe(200);
    expect(unlock.body).toEqual({
      actor: 'alice',
      wasLockedUntil: new Date(clock.getTime() + 600_000).toISOString(),
      failedAttempts: 0,
    });
    expect(await audits('approver.totp_unlocked')).toHaveLength(1);

    const ok = await approve(rightCode());
    expect([ok.status, ok.body]).toEqual([200, { by: 'alice' }]);
    // After an accepted code the count is back at zero: 4 more wrong codes do not lock.
    advance(30);
    for (let i = 1; i <= 4; i++) expect((await approve(wrongCode())).body.kind).toBe('totp_invalid');
    expect((await approve(rightCode())).status).toBe(200);
  });
});
