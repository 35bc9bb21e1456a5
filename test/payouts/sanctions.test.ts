// Sanctions screening inside the payout workflow, end to end with a configured sanctions list file: a payee
// whose name or destination is on the list is held (funds reserved) waiting for complianceCleared; nobody
// clearing it in time fails the payout and releases the hold; an operator clearing it lets it pay.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { listSandboxDisbursements } from '../../src/providers/index.ts';
import { type Stack, startStack } from '../support/stack.ts';

const LISTED_NAME = 'Ivana Blocklisted';
// Two listed accounts: a payee sharing another payee's account would also be flagged by the risk rules.
const LISTED_ACCOUNTS = { timeout: '31337000042', cleared: '31337000043' } as const;
const COMPLIANCE_WAIT_MS = 2 * 24 * 3_600_000;

describe('payout workflow: sanctions list', () => {
  let stack: Stack;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'disburse-sanctions-'));
    const file = join(dir, 'sanctions.csv');
    await writeFile(
      file,
      [
        'kind,value,source,reference',
        `name,"Blocklisted, Ivana",TEST-SDN,SDN-9001`,
        // Written with spaces, as lists often are: identifiers match after normalisation.
        `identifier,${LISTED_ACCOUNTS.timeout.replace(/(\d{4})/g, '$1 ')},TEST-EU,EU-9002`,
        `identifier,${LISTED_ACCOUNTS.cleared},TEST-EU,EU-9003`,
        '',
      ].join('\n'),
    );
    stack = await startStack('sanctions', { env: { SANCTIONS_FILE: file, COMPLIANCE_WAIT: '2d' } });
  });
  afterEach(async () => {
    await stack.assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const listed = {
    name: { payee: { name: LISTED_NAME.toUpperCase() }, code: 'sanctions_name_match', reference: 'SDN-9001' },
    destination: { code: 'sanctions_identifier_match', reference: 'EU-900' },
  } as const;

  async function wallet(payeeId: string) {
    const res = stack.expectStatus(await stack.call('GET', `/v1/payees/${payeeId}/wallet`), 200, 'wallet');
    return { available: res.body.balances[0].available.amount, held: res.body.balances[0].held.amount };
  }

  async function outboxTypes(payoutId: string) {
    const rows = await sql<{ type: string }>(
      stack.db.em(),
      `SELECT type FROM "${stack.db.schema}".webhook_outbox WHERE id LIKE $1 ORDER BY occurred_at`,
      [`%${payoutId}%`],
    );
    return rows.map((r) => r.type);
  }

  /** A payee on the list requests 50.00 of their 100.00: held, waiting for complianceCleared. */
  async function blockedPayout(kind: keyof typeof listed, outcome: keyof typeof LISTED_ACCOUNTS) {
    const l = listed[kind];
    const payeeId = await stack.createPayee({
      credit: '10000',
      ...('payee' in l ? { payee: l.payee } : {}),
      ...(kind === 'destination' ? { bankAccount: { accountNumber: LISTED_ACCOUNTS[outcome] } } : {}),
    });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    const held = await stack.waitForState(payoutId, ['compliance_hold']);
    expect(held.reasons).toEqual([{ code: l.code, message: expect.stringContaining(l.reference) }]);
    // The matched identifier is never repeated where operators and webhooks see it.
    expect(JSON.stringify(held)).not.toContain(LISTED_ACCOUNTS[outcome]);
    expect(held.nextTimer?.purpose).toBe('compliance_wait');
    const waitMs = Date.parse(held.nextTimer!.at) - (await stack.temporal.currentTimeMs());
    expect(Math.abs(waitMs - COMPLIANCE_WAIT_MS)).toBeLessThan(60_000);
    expect(held.attempts).toEqual([]);
    expect(await wallet(payeeId)).toEqual({ available: '5000', held: '5000' });
    const api = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get');
    expect(api.body.state).toBe('compliance_hold');
    return { payeeId, payoutId };
  }

  for (const kind of ['name', 'destination'] as const) {
    it(`payee ${kind} on the list: blocked, and released when nobody clears it in time`, async () => {
      const { payeeId, payoutId } = await blockedPayout(kind, 'timeout');
      const final = await stack.result(payoutId);
      expect(final.state).toBe('failed');
      expect(final.reasons.map((r) => r.code)).toEqual([listed[kind].code, 'compliance_timeout']);
      expect(final.attempts).toEqual([]);
      expect(await wallet(payeeId)).toEqual({ available: '10000', held: '0' });
      expect(await listSandboxDisbursements(stack.db, { payoutId })).toEqual([]);
      const api = await stack.call('GET', `/v1/payouts/${payoutId}`);
      expect(api.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'release']);
      expect(await outboxTypes(payoutId)).toEqual(
        expect.arrayContaining(['payout.compliance_hold', 'payout.failed']),
      );
    });

    it(`payee ${kind} on the list: an operator clears it and it pays`, async () => {
      const { payeeId, payoutId } = await blockedPayout(kind, 'cleared');
      const cleared = await stack.call('POST', `/v1/payouts/${payoutId}/compliance-clear`, {
        key: stack.keys.operator.key,
        body: { reason: 'false positive: different date of birth' },
      });
      expect(cleared.status).toBe(200);
      const final = await stack.result(payoutId);
      expect(final.state).toBe('paid');
      expect(final.reasons.map((r) => r.code)).toEqual(
        expect.arrayContaining([listed[kind].code, 'compliance_cleared']),
      );
      expect(final.reasons.find((r) => r.code === 'compliance_cleared')?.message).toContain('olga');
      const rows = await listSandboxDisbursements(stack.db, { payoutId });
      expect(rows.map((r) => r.state)).toEqual(['paid']);
      const w = await wallet(payeeId);
      expect(w).toEqual({ available: '5000', held: '0' });
    });
  }

  it('a payee whose name and account are near the list, but not on it, pays without a hold', async () => {
    const payeeId = await stack.createPayee({
      credit: '10000',
      payee: { name: 'Ivana Blocklist' },
      bankAccount: { accountNumber: `${LISTED_ACCOUNTS.timeout}1` },
    });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.reasons.map((r) => r.code)).not.toContain('sanctions_name_match');
    expect(final.reasons.map((r) => r.code)).not.toContain('sanctions_identifier_match');
    expect(await outboxTypes(payoutId)).not.toContain('payout.compliance_hold');
  });
});
