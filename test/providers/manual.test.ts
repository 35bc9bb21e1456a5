import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyringFromKeys } from '../../src/crypto/keyring.ts';
import { isProviderError, WebhookVerificationError } from '../../src/providers/errors.ts';
import { formatMinor, ManualProvider } from '../../src/providers/manual/provider.ts';
import { parseCsv } from '../../src/shared/csv.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { type RequestOverrides, submitRequest } from './submit-request.ts';

let db: TestDatabase;
/** A batch request whose payee's name CSV must quote (a comma, quotes). */
const request = (o: RequestOverrides = {}) =>
  submitRequest({ rail: 'batch', ...o, payee: { name: 'Acme, "Payee" Ltd', ...o.payee } });

beforeAll(async () => {
  db = await createTestDatabase('providers_manual');
});
afterAll(async () => {
  await db.drop();
});

describe('formatMinor', () => {
  it.each([
    [12345n, 2, '123.45'],
    [5n, 2, '0.05'],
    [0n, 2, '0.00'],
    [7n, 0, '7'],
    [1n, 3, '0.001'],
  ])('%p at scale %p → %p', (minor, scale, text) => {
    expect(formatMinor(minor, scale)).toBe(text);
  });
});

describe('ManualProvider', () => {
  it('queues idempotently, exports masked CSV once, and imports results', async () => {
    const p = new ManualProvider({ name: 'manual_a', db });
    const a = request();
    const b = request({ payee: { name: '=cmd|calc' } });
    const c = request();
    expect(await p.submit(a)).toEqual({ state: 'pending', providerRef: `manual_a_${a.idempotencyKey}` });
    expect((await p.submit(a)).state).toBe('pending');
    await p.submit(b);
    await p.submit(c);
    expect(await p.status(a.idempotencyKey)).toEqual({
      state: 'pending',
      providerRef: `manual_a_${a.idempotencyKey}`,
    });

    const exported = await p.exportQueued();
    expect(exported.count).toBe(3);
    const rows = parseCsv(exported.csv).map((r) => r.fields);
    expect(rows[0]).toEqual([
      'payout_id',
      'idempotency_key',
      'payee_id',
      'payee_name',
      'payee_country',
      'method',
      'amount',
      'currency',
      'destination',
      'queued_at',
      'outcome',
      'reason',
    ]);
    expect(rows.slice(1).map((r) => r[0])).toEqual([a.payoutId, b.payoutId, c.payoutId]);
    expect(rows[1]?.[3]).toBe(a.payee.name); // quotes and commas survive RFC 4180 quoting
    expect(rows[2]?.[3]).toBe("'=cmd|calc"); // formula neutralised
    expect(rows[1]?.[6]).toBe(formatMinor(BigInt(a.amount.amount), 2));
    expect(rows[1]?.[8]).toMatch(/^\*\*\*\*\d{4}$/);
    expect(exported.csv).not.toContain(a.destination);
    expect((await p.exportQueued()).count).toBe(0); // already exported
    expect((await p.exportQueued({ includeExported: true })).count).toBe(3);

    // Cancel only before the export.
    expect((await p.cancel(a.idempotencyKey)).cancelled).toBe(false);
    // A key never queued is voided by a cancel: queueing it afterwards is refused.
    const unseen = request();
    expect(await p.cancel(unseen.idempotencyKey)).toMatchObject({ cancelled: true, state: 'not_found' });
    await expect(p.submit(unseen)).rejects.toMatchObject({
      kind: 'hard_decline',
      code: 'idempotency_key_voided',
    });
    expect(await p.status(unseen.idempotencyKey)).toEqual({ state: 'not_found' });

    const csv = [
      'payout_id,idempotency_key,outcome,reason',
      `${a.payoutId},${a.idempotencyKey},paid,`,
      `${b.payoutId},${b.idempotencyKey},failed,"Account closed, per bank"`,
    ].join('\n');
    const result = await p.importResults(csv);
    expect(result).toEqual({
      ok: true,
      applied: 2,
      unchanged: 0,
      events: [
        expect.objectContaining({
          eventId: `manual_a.paid.${a.idempotencyKey}`,
          payoutId: a.payoutId,
          type: 'paid',
        }),
        expect.objectContaining({ payoutId: b.payoutId, type: 'failed', reason: 'Account closed, per bank' }),
      ],
    });
    expect((await p.status(a.idempotencyKey)).state).toBe('paid');
    expect(await p.status(b.idempotencyKey)).toMatchObject({
      state: 'failed',
      reason: 'Account closed, per bank',
    });
    expect((await p.status(c.idempotencyKey)).state).toBe('pending');

    // Re-import: no change, same event ids.
    const again = await p.importResults(csv);
    expect(again.ok && again.applied === 0 && again.unchanged === 2).toBe(true);
    if (again.ok && result.ok)
      expect(again.events.map((e) => e.eventId)).toEqual(result.events.map((e) => e.eventId));

    // A paid payout re-submitted with its key stays paid; a failed one stays declined.
    expect((await p.submit(a)).state).toBe('paid');
    const err = await p.submit(b).catch((e: unknown) => e);
    expect(isProviderError(err) && err.kind === 'hard_decline').toBe(true);
  });

  it('imports a return of a paid row (money came back), only for paid rows and with a reason', async () => {
    const p = new ManualProvider({ name: 'manual_r', db });
    const a = request();
    const queued = request();
    await p.submit(a);
    await p.submit(queued);
    await p.exportQueued();
    expect((await p.importResults(`${a.payoutId},${a.idempotencyKey},paid,`)).ok).toBe(true);

    const refused = await p.importResults(
      [
        `${a.payoutId},${a.idempotencyKey},returned,`,
        `${queued.payoutId},${queued.idempotencyKey},returned,Account closed`,
      ].join('\n'),
    );
    expect(refused).toEqual({
      ok: false,
      errors: [
        { line: 1, message: 'a returned row needs a reason' },
        { line: 2, message: `payout ${queued.payoutId} is exported; only a paid payout can be returned` },
      ],
    });
    expect((await p.status(a.idempotencyKey)).state).toBe('paid');

    const returned = `${a.payoutId},${a.idempotencyKey},returned,R03 no account`;
    const result = await p.importResults(returned);
    expect(result).toEqual({
      ok: true,
      applied: 1,
      unchanged: 0,
      events: [
        expect.objectContaining({
          eventId: `manual_r.returned.${a.idempotencyKey}`,
          payoutId: a.payoutId,
          type: 'returned',
          reason: 'R03 no account',
        }),
      ],
    });
    expect(await p.status(a.idempotencyKey)).toMatchObject({ state: 'returned', reason: 'R03 no account' });
    // Re-import: unchanged, same event. A returned row is neither paid again nor cancellable, nor "paid" again.
    expect(await p.importResults(returned)).toMatchObject({ ok: true, applied: 0, unchanged: 1 });
    expect((await p.submit(a)).state).toBe('paid');
    expect(await p.cancel(a.idempotencyKey)).toMatchObject({ cancelled: false, state: 'paid' });
    expect(await p.importResults(`${a.payoutId},${a.idempotencyKey},paid,`)).toEqual({
      ok: false,
      errors: [{ line: 1, message: `payout ${a.payoutId} is already returned; cannot change it to paid` }],
    });
  });

  it('imports a filled-in export file (columns found by header name)', async () => {
    const p = new ManualProvider({ name: 'manual_b', db });
    const a = request();
    await p.submit(a);
    const { csv } = await p.exportQueued();
    const [header, row] = parseCsv(csv).map((r) => r.fields);
    row![10] = 'paid';
    const filled = [header!, row!]
      .map((r) => r.map((f) => (/[",\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(','))
      .join('\r\n');
    const result = await p.importResults(filled);
    expect(result.ok).toBe(true);
    expect((await p.status(a.idempotencyKey)).state).toBe('paid');
  });

  it('rejects a file with invalid rows, with line numbers, and applies nothing', async () => {
    const p = new ManualProvider({ name: 'manual_c', db });
    const a = request();
    const b = request();
    const cancelled = request();
    await p.submit(a);
    await p.submit(b);
    await p.submit(cancelled);
    expect(await p.cancel(cancelled.idempotencyKey)).toEqual({
      cancelled: true,
      state: 'failed',
      reason: 'cancelled',
    });
    const csv = [
      `${a.payoutId},${a.idempotencyKey},paid,`, // line 1: valid
      `${b.payoutId},${b.idempotencyKey},maybe,`, // line 2
      `${b.payoutId},${b.idempotencyKey},failed,`, // line 3: no reason + duplicate key
      `wrong,${a.idempotencyKey}x,paid,`, // line 4: unknown key
      `other,${b.idempotencyKey}`, // line 5: payout mismatch... and missing outcome
      `${cancelled.payoutId},${cancelled.idempotencyKey},paid,`, // line 6
    ].join('\n');
    const result = await p.importResults(csv);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.line)).toEqual([2, 3, 4, 5, 6]);
    expect(result.errors[0]?.message).toMatch(/outcome must be "paid", "failed" or "returned"/);
    expect(result.errors[1]?.message).toMatch(/needs a reason.*already appears on line 2/);
    expect(result.errors[2]?.message).toMatch(/no payout queued/);
    expect(result.errors[4]?.message).toMatch(/cancelled/);
    expect((await p.status(a.idempotencyKey)).state).toBe('pending'); // nothing applied

    const conflicting = await p.importResults(`${a.payoutId},${a.idempotencyKey},paid,\n`);
    expect(conflicting.ok).toBe(true);
    const flip = await p.importResults(`${a.payoutId},${a.idempotencyKey},failed,oops\n`);
    expect(flip).toEqual({
      ok: false,
      errors: [{ line: 1, message: expect.stringMatching(/already paid; cannot change/) }],
    });
  });

  it.each([
    ['', 'no result rows'],
    ['payout_id,idempotency_key,outcome\n', 'missing column(s): reason'],
    ['a,"b\n', 'unterminated'],
  ])('rejects malformed file %p', async (csv, message) => {
    const p = new ManualProvider({ name: 'manual_d', db });
    const result = await p.importResults(csv);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]?.message).toContain(message);
  });

  it('exports decrypted destinations only when configured with a keyring', async () => {
    expect(() => new ManualProvider({ name: 'manual_e', db, exportDestinations: true })).toThrow(/keyring/);
    const keyring = keyringFromKeys([['k1', randomBytes(32)]]);
    const p = new ManualProvider({ name: 'manual_e', db, keyring, exportDestinations: true });
    const a = request();
    await p.submit(a);
    const { csv } = await p.exportQueued();
    expect(parseCsv(csv)[1]?.fields[8]).toBe(a.destination);
    const stored = await new ManualProvider({ name: 'manual_e', db, keyring }).exportQueued({
      includeExported: true,
    });
    expect(parseCsv(stored.csv)[1]?.fields[8]).toMatch(/^\*\*\*\*/);
  });

  it('has no webhooks and only offers the batch rail', async () => {
    const p = new ManualProvider({ name: 'manual_f', db });
    expect(() => p.parseWebhook()).toThrow(WebhookVerificationError);
    expect(p.capabilities().rails).toEqual(['batch']);
    const err = await p.submit(request({ rail: 'instant' })).catch((e: unknown) => e);
    expect(isProviderError(err) && err.code === 'rail_unsupported').toBe(true);
  });
});
