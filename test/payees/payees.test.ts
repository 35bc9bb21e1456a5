// Payees end to end over HTTP: destinations encrypted at rest, masked in every response and absent from
// logs; change history and risk facts; key rotation; wallet and credits from the ledger.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyringFromKeys } from '../../src/crypto/index.ts';
import { sql } from '../../src/db/sql.ts';
import { createPayeeService, rotateEncryption } from '../../src/payees/index.ts';
import { startTestApi, type TestApi } from '../api/support.ts';

let api: TestApi;

const clear = {
  iban: 'DE89 3704 0044 0532 0130 00',
  accountNumber: '987654321012',
  routingNumber: '021000021',
  walletId: 'pat.payee+payouts@example.com',
  cardToken: 'tok_live_9f8e7d6c5b4a3210',
  address: '0x52908400098527886E0F7030069857D2E4169EE7',
  tin: '123-45-6789',
};
const secrets = [
  clear.iban.replace(/ /g, ''),
  clear.accountNumber,
  clear.walletId,
  clear.cardToken,
  clear.address,
  '123456789',
];

const bodies = {
  bank_account: { holderName: 'Pat Payee', country: 'DE', currency: 'EUR', iban: clear.iban },
  wallet: { provider: 'paypal', walletId: clear.walletId },
  card: { cardToken: clear.cardToken },
  crypto: { network: 'ethereum', address: clear.address },
} as const;

function assertNoSecrets(text: string, where: string) {
  for (const s of secrets) {
    if (text.includes(s) || text.toLowerCase().includes(s.toLowerCase()))
      throw new Error(`${where} contains clear ${s.slice(0, 4)}…`);
  }
}

beforeAll(async () => {
  api = await startTestApi('payees_http');
});
afterAll(async () => {
  await api?.close();
});

describe('destinations', () => {
  let payeeId: string;
  beforeAll(async () => {
    payeeId = (await api.createPayee({ taxProfile: { form: 'w9', tin: clear.tin } })).id;
  });

  it.each(Object.entries(bodies))('%s is stored encrypted and shown masked', async (kind, body) => {
    const res = await api.call('PUT', `/v1/payees/${payeeId}/destinations/${kind}`, { body });
    expect(res.status).toBe(200);
    expect(res.body.change).toBe('added');
    expect(res.body.destination.masked).toMatch(/^\*{4}.{4}$/);
    assertNoSecrets(res.text, `PUT ${kind} response`);
    const rows = await sql<{ row: string }>(
      api.db.em(),
      `SELECT row_to_json(d)::text AS row FROM "${api.db.schema}".payee_destinations d WHERE payee_id = $1 AND kind = $2`,
      [payeeId, kind],
    );
    assertNoSecrets(rows[0]!.row, `${kind} database row`);
    const submitted = await api.payees.getDestinationForSubmission(
      api.db.em(),
      payeeId,
      kind as keyof typeof bodies,
    );
    expect(submitted).toEqual({
      destination: { kind, details: body },
      fingerprint: expect.stringMatching(/^\S{16,}$/),
    });
  });

  it('never returns or logs a clear destination or TIN', async () => {
    const token = await api.payeeToken(payeeId);
    const reads = [
      await api.call('GET', `/v1/payees/${payeeId}`),
      await api.call('GET', `/v1/payees/${payeeId}`, { key: token }),
      await api.call('PATCH', `/v1/payees/${payeeId}`, { body: { name: 'Pat P. Payee' } }),
      await api.call('GET', `/v1/payees/${payeeId}/wallet`),
    ];
    for (const r of reads) {
      expect(r.status).toBe(200);
      assertNoSecrets(r.text, 'response');
    }
    const payee = reads[0]!.body;
    expect(payee.taxProfile).toEqual({ form: 'w9', tin: '****6789' });
    expect(payee.destinations.map((d: { kind: string }) => d.kind)).toEqual([
      'bank_account',
      'card',
      'crypto',
      'wallet',
    ]);
    expect(payee.destinations.find((d: { kind: string }) => d.kind === 'bank_account').details).toEqual({
      holderName: 'Pat Payee',
      country: 'DE',
      currency: 'EUR',
      iban: '****3000',
    });
    // Also a rejected request that carried a destination must not echo it.
    const bad = await api.call('PUT', `/v1/payees/${payeeId}/destinations/card`, {
      body: { cardToken: clear.cardToken, extra: clear.accountNumber },
    });
    expect(bad.status).toBe(400);
    assertNoSecrets(bad.text, 'error response');
    assertNoSecrets(api.logs.join('\n'), 'logs');
    const audit = await sql<{ row: string }>(
      api.db.em(),
      `SELECT row_to_json(a)::text AS row FROM "${api.db.schema}".audit_log a`,
    );
    assertNoSecrets(audit.map((a) => a.row).join('\n'), 'audit log');
    expect(await api.payees.getTaxTin(api.db.em(), payeeId)).toBe('123456789');
  });

  it('timestamps changes, ignores identical re-sends, and records history', async () => {
    const p = (await api.createPayee()).id;
    const us = {
      holderName: 'Sam',
      country: 'US',
      currency: 'USD',
      accountNumber: '11112222',
      routingNumber: '021000021',
    };
    const a = await api.call('PUT', `/v1/payees/${p}/destinations/bank_account`, { body: us });
    await new Promise((r) => setTimeout(r, 15));
    const same = await api.call('PUT', `/v1/payees/${p}/destinations/bank_account`, { body: us });
    expect(same.body.change).toBe('unchanged');
    expect(same.body.destination.changedAt).toBe(a.body.destination.changedAt);
    const changed = await api.call('PUT', `/v1/payees/${p}/destinations/bank_account`, {
      body: { ...us, accountNumber: '33334444' },
    });
    expect(changed.body.change).toBe('changed');
    expect(changed.body.destination.addedAt).toBe(a.body.destination.addedAt);
    expect(Date.parse(changed.body.destination.changedAt)).toBeGreaterThan(
      Date.parse(a.body.destination.changedAt),
    );
    const history = await api.payees.destinationHistory(api.db.em(), p, 'bank_account');
    expect(history.map((h) => h.change)).toEqual(['added', 'changed']);
    expect(history[1]!.previousFingerprint).toBe(history[0]!.fingerprint);
    expect(history.map((h) => h.actor)).toEqual(['acme-backend', 'acme-backend']);
    const facts = await api.payees.getDestinationRiskFacts(api.db.em(), p, 'bank_account');
    expect(facts?.changedAt.toISOString()).toBe(changed.body.destination.changedAt);
  });

  it('counts OTHER payees sharing a destination, however it is formatted', async () => {
    const ids = [(await api.createPayee()).id, (await api.createPayee()).id, (await api.createPayee()).id];
    const shared = 'GB82 WEST 1234 5698 7654 32';
    const variants = [shared, shared.replace(/ /g, ''), shared.toLowerCase()];
    for (const [i, id] of ids.entries()) {
      const r = await api.call('PUT', `/v1/payees/${id}/destinations/bank_account`, {
        body: { holderName: `H${i}`, country: 'GB', currency: 'GBP', iban: variants[i] },
      });
      expect(r.status).toBe(200);
    }
    const facts = await api.payees.getDestinationRiskFacts(api.db.em(), ids[0]!, 'bank_account');
    expect(facts?.sharedDestinationPayeeCount).toBe(2);
    const lone = (await api.createPayee()).id;
    await api.call('PUT', `/v1/payees/${lone}/destinations/bank_account`, {
      body: { holderName: 'L', country: 'GB', currency: 'GBP', iban: 'GB33BUKB20201555555555' },
    });
    expect(
      (await api.payees.getDestinationRiskFacts(api.db.em(), lone, 'bank_account'))
        ?.sharedDestinationPayeeCount,
    ).toBe(0);
    expect(await api.payees.getDestinationRiskFacts(api.db.em(), lone, 'card')).toBeNull();
  });

  it('records audit entries for human actions', async () => {
    const p = (await api.createPayee()).id;
    await api.call('PUT', `/v1/payees/${p}/destinations/card`, {
      body: { cardToken: 'tok_audit_0001' },
      headers: { 'x-request-id': 'req-audit-1' },
    });
    const rows = await sql<{ action: string; actor: string; role: string; request_id: string | null }>(
      api.db.em(),
      `SELECT action, actor, role, request_id FROM "${api.db.schema}".audit_log WHERE object_id = $1 ORDER BY id`,
      [p],
    );
    expect(rows).toEqual([
      expect.objectContaining({ action: 'payee.create', actor: 'acme-backend', role: 'platform' }),
      { action: 'payee.destination.add', actor: 'acme-backend', role: 'platform', request_id: 'req-audit-1' },
    ]);
  });
});

describe('key rotation', () => {
  it('re-encrypts every envelope with the new active key; the old key can then be dropped', async () => {
    const p = (await api.createPayee({ taxProfile: { form: 'w9', tin: '98-7654321' } })).id;
    await api.call('PUT', `/v1/payees/${p}/destinations/wallet`, { body: bodies.wallet });
    const old = api.security.keyring;
    const k2 = randomBytes(32);
    const rotated = keyringFromKeys([['k2', k2], ...old.keys.entries()]);
    const report = await rotateEncryption(api.db.em(), rotated, 2);
    expect(report.destinations).toBeGreaterThanOrEqual(5);
    expect(report.taxTins).toBeGreaterThanOrEqual(2);
    const keyIds = await sql<{ key_id: string }>(
      api.db.em(),
      `SELECT DISTINCT key_id FROM "${api.db.schema}".payee_destinations`,
    );
    expect(keyIds).toEqual([{ key_id: 'k2' }]);
    const onlyNew = createPayeeService({
      keyring: keyringFromKeys([['k2', k2]]),
      fingerprintKey: api.security.fingerprintKey,
    });
    expect((await onlyNew.getDestinationForSubmission(api.db.em(), p, 'wallet')).destination).toEqual({
      kind: 'wallet',
      details: bodies.wallet,
    });
    expect(await onlyNew.getTaxTin(api.db.em(), p)).toBe('987654321');
    expect(await rotateEncryption(api.db.em(), rotated)).toEqual({
      destinations: 0,
      taxTins: 0,
      approverTotpSecrets: 0,
    });
  });
});

describe('wallet and credits', () => {
  it('credits once per reference and pages the history', async () => {
    const p = (await api.createPayee()).id;
    const credit = (reference: string, amount: string) =>
      api.call('POST', `/v1/payees/${p}/credits`, {
        body: { amount: { amount, currency: 'USD', scale: 2 }, reference },
      });
    const a = await credit('sale-1', '1000');
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({
      payeeId: p,
      reference: 'sale-1',
      replayed: false,
      amount: { amount: '1000', currency: 'USD', scale: 2 },
    });
    const again = await credit('sale-1', '1000');
    expect(again.status).toBe(200);
    expect(again.body.replayed).toBe(true);
    expect(again.body.transactionId).toBe(a.body.transactionId);
    const conflict = await credit('sale-1', '999');
    expect(conflict.status).toBe(409);
    expect(conflict.body.kind).toBe('conflict');
    expect((await credit('sale-2', '250')).status).toBe(201);

    const token = await api.payeeToken(p);
    const page1 = await api.call('GET', `/v1/payees/${p}/wallet?limit=1`, { key: token });
    expect(page1.status).toBe(200);
    expect(page1.body.balances).toEqual([
      {
        currency: 'USD',
        available: { amount: '1250', currency: 'USD', scale: 2 },
        held: { amount: '0', currency: 'USD', scale: 2 },
        restricted: { amount: '0', currency: 'USD', scale: 2 },
        receivable: { amount: '0', currency: 'USD', scale: 2 },
      },
    ]);
    expect(page1.body.transactions.entries).toEqual([
      expect.objectContaining({
        type: 'earnings.credit',
        reference: 'sale-2',
        amount: { amount: '250', currency: 'USD', scale: 2 },
      }),
    ]);
    const cursor = page1.body.transactions.nextCursor;
    expect(cursor).toEqual(expect.any(String));
    const page2 = await api.call(
      'GET',
      `/v1/payees/${p}/wallet?limit=1&cursor=${encodeURIComponent(cursor)}`,
      { key: token },
    );
    expect(page2.body.transactions.entries.map((e: { reference: string }) => e.reference)).toEqual([
      'sale-1',
    ]);
    expect(page2.body.transactions.nextCursor).toBeNull();
  });
});
