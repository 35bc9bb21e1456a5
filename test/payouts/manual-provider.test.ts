// The manual provider's operator routes over HTTP, end to end: GET /v1/providers/:name/export.csv (masked
// CSV of the payouts queued for offline processing) and POST /v1/providers/:name/import (the operator's
// paid/failed/returned results, each signalled to its payout workflow). A paid row settles the payout; a
// failed row fails it over to the next provider, or fails it with the hold released when no provider is left;
// a returned row posts the money back to the wallet. An invalid
// file is refused as a whole with 4xx problem+json and writes nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { DEFAULT_SANDBOX_SCENARIO, sandboxTotals } from '../../src/providers/index.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('manual provider routes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('manual_routes', {
      providers: [
        // The manual provider is tried first; the sandbox is the fallback on the same (batch) rail.
        { name: 'manual', kind: 'manual', capabilities: { priority: 1 } },
        { name: 'sandbox', capabilities: { priority: 2 } },
      ],
    });
  });
  afterEach(async () => {
    stack.sandbox().setScenario(DEFAULT_SANDBOX_SCENARIO);
    await assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const operator = () => stack.keys.operator.key;
  const exportCsv = (query = '', key: string | null = operator(), name = 'manual') =>
    stack.call('GET', `/v1/providers/${name}/export.csv${query}`, { key });
  const importCsv = (csv: string, key: string | null = operator(), name = 'manual') =>
    stack.call('POST', `/v1/providers/${name}/import`, { key, body: { csv } });

  /**
   * The checks every payout scenario ends with. Money paid by either provider sits in provider_clearing, so
   * what the sandbox paid plus what operators imported as paid must equal the ledger's settled total.
   */
  async function assertInvariants() {
    const report = await verifyLedger(stack.db.em(), stack.db.schema);
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
    const sandboxPaid = (await sandboxTotals(stack.db)).reduce((sum, t) => sum + t.paidMinor, 0n);
    const [manual] = await sql<{ total: string }>(
      stack.db.em(),
      `SELECT coalesce(sum(amount_minor), 0)::text AS total FROM "${stack.db.schema}".manual_payouts WHERE state = 'paid'`,
    );
    const [clearing] = await sql<{ total: string }>(
      stack.db.em(),
      `SELECT coalesce(sum(balance), 0)::text AS total FROM "${stack.db.schema}".ledger_accounts WHERE kind = 'provider_clearing'`,
    );
    expect(BigInt(clearing!.total)).toBe(sandboxPaid + BigInt(manual!.total));
  }

  async function manualRow(payoutId: string) {
    const [row] = await sql<{ state: string; reason: string | null }>(
      stack.db.em(),
      `SELECT state, reason FROM "${stack.db.schema}".manual_payouts WHERE payout_id = $1`,
      [payoutId],
    );
    return row;
  }

  async function manualKey(payoutId: string) {
    const [row] = await sql<{ idempotency_key: string }>(
      stack.db.em(),
      `SELECT idempotency_key FROM "${stack.db.schema}".manual_payouts WHERE payout_id = $1`,
      [payoutId],
    );
    return row!.idempotency_key;
  }

  async function signals(payoutId: string) {
    const history = await stack.handle(payoutId).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  }

  /** Requests a scheduled payout and lets virtual time reach its payout window: queued at the manual provider. */
  async function queuedPayout(o: { account?: string; name?: string } = {}) {
    const payeeId = await stack.createPayee({
      credit: '10000',
      ...(o.account ? { bankAccount: { accountNumber: o.account } } : {}),
      ...(o.name ? { payee: { name: o.name } } : {}),
    });
    const payoutId = await stack.requestPayout(payeeId, '5000', { instant: false });
    const scheduled = await stack.waitForState(payoutId, ['scheduled']);
    const wait = Date.parse(scheduled.nextTimer!.at) - (await stack.temporal.currentTimeMs());
    await stack.temporal.sleep(Math.max(0, wait) + 1_000);
    const waiting = await stack.waitForState(payoutId, ['awaiting_confirmation']);
    expect(waiting.attempts).toEqual([expect.objectContaining({ provider: 'manual', outcome: 'pending' })]);
    return { payeeId, payoutId };
  }

  /** Moves virtual time an hour at a time past the confirmation and unknown-outcome deadlines into review. */
  async function untilReview(payoutId: string) {
    let status = await stack.gateway.status(payoutId);
    for (let i = 0; i < 40 && status?.state !== 'review'; i++) {
      await stack.temporal.sleep(60 * 60_000);
      status = await stack.gateway.status(payoutId);
    }
    expect(status?.state).toBe('review');
  }

  /** Waits (real time) until the workflow has refused an operator's not_paid verdict; its status then. */
  async function untilRefused(payoutId: string) {
    for (let i = 0; i < 100; i++) {
      const status = await stack.gateway.status(payoutId);
      if (status?.reasons.some((r) => r.code === 'operator_resolution_refused')) return status;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`payout ${payoutId}: no refusal of the operator's verdict`);
  }

  /** Rows of an RFC 4180 export whose cells hold no commas, quotes or line breaks (true of these tests). */
  function rows(csv: string): Record<string, string>[] {
    const [header, ...lines] = csv.split('\r\n').filter((l) => l !== '');
    const cols = header!.split(',');
    return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
  }

  /** A filled-in export: outcome (and reason) set for `payoutId`'s row, other rows removed. */
  function filled(csv: string, payoutId: string, outcome: string, reason = ''): string {
    const [header, ...lines] = csv.split('\r\n').filter((l) => l !== '');
    const row = lines.find((l) => l.startsWith(`${payoutId},`));
    if (!row) throw new Error(`no row for ${payoutId} in ${csv}`);
    return `${header}\r\n${row.replace(/,,$/, `,${outcome},${reason}`)}\r\n`;
  }

  it('exports queued payouts as CSV with the destination masked, once (unless re-export is asked for)', async () => {
    const account = '55501234567890';
    const { payeeId, payoutId } = await queuedPayout({ account, name: '=HYPERLINK("x")' });

    const res = exportCsv();
    const csv = stack.expectStatus(await res, 200, 'export');
    expect(csv.contentType).toContain('text/csv');
    expect(csv.text.split('\r\n')[0]).toBe(
      'payout_id,idempotency_key,payee_id,payee_name,payee_country,method,amount,currency,destination,queued_at,outcome,reason',
    );
    const mine = rows(csv.text).filter((r) => r.payout_id === payoutId);
    expect(mine).toEqual([
      {
        payout_id: payoutId,
        idempotency_key: `${payoutId}:1`,
        payee_id: payeeId,
        payee_name: expect.stringMatching(/^"?'=HYPERLINK/), // a spreadsheet will not run it
        payee_country: 'US',
        method: 'bank_transfer',
        amount: '50.00',
        currency: 'USD',
        destination: '****7890',
        queued_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        outcome: '',
        reason: '',
      },
    ]);
    // Bank details never leave in clear: not the account number, not even most of it.
    expect(csv.text).not.toContain(account);
    expect(csv.text).not.toContain(account.slice(0, 8));
    expect(csv.text).not.toContain('011000015');
    expect(await manualRow(payoutId)).toMatchObject({ state: 'exported' });

    // Exported rows are not exported again, unless asked for (e.g. the first file was lost).
    const again = stack.expectStatus(await exportCsv(), 200, 'export again');
    expect(rows(again.text).map((r) => r.payout_id)).not.toContain(payoutId);
    const lost = stack.expectStatus(await exportCsv('?includeExported=true'), 200, 're-export');
    expect(rows(lost.text).map((r) => r.payout_id)).toContain(payoutId);

    // Settle this one so it does not linger (and check the filled-in export imports as is).
    const imported = stack.expectStatus(await importCsv(filled(lost.text, payoutId, 'paid')), 200, 'import');
    expect(imported.body).toEqual({ applied: 1, unchanged: 0, signalled: 1 });
    expect((await stack.result(payoutId)).state).toBe('paid');
  });

  it('import of a paid row: the workflow settles the payout; importing the same file again changes nothing', async () => {
    const { payeeId, payoutId } = await queuedPayout();
    const exported = stack.expectStatus(await exportCsv(), 200, 'export').text;
    const file = filled(exported, payoutId, 'paid');

    const res = stack.expectStatus(await importCsv(file), 200, 'import');
    expect(res.body).toEqual({ applied: 1, unchanged: 0, signalled: 1 });
    expect(await manualRow(payoutId)).toMatchObject({ state: 'paid' });
    const again = stack.expectStatus(await importCsv(file), 200, 'import again');
    expect(again.body).toMatchObject({ applied: 0, unchanged: 1 });

    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts).toEqual([expect.objectContaining({ provider: 'manual', outcome: 'paid' })]);
    const payout = await stack.call('GET', `/v1/payouts/${payoutId}`);
    expect(payout.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'settle']);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0]).toMatchObject({ available: { amount: '5000' }, held: { amount: '0' } });
    // The operator's import is in the audit log.
    const audit = await sql<{ action: string; actor: string }>(
      stack.db.em(),
      `SELECT action, actor FROM "${stack.db.schema}".audit_log WHERE action = 'provider.manual_import'`,
    );
    expect(audit).toEqual(expect.arrayContaining([{ action: 'provider.manual_import', actor: 'olga' }]));
  });

  it('import of a returned row: the money paid offline came back, so the payout is returned and the wallet credited', async () => {
    // Returned just as the workflow ends at paid, and after it closed: the return path records it either way.
    for (const when of ['watching', 'closed'] as const) {
      const { payeeId, payoutId } = await queuedPayout();
      const exported = stack.expectStatus(await exportCsv(), 200, 'export').text;
      stack.expectStatus(await importCsv(filled(exported, payoutId, 'paid')), 200, 'import paid');
      if (when === 'watching') await stack.waitForState(payoutId, ['paid']);
      else expect((await stack.result(payoutId)).state).toBe('paid');
      const returned = `${payoutId},${await manualKey(payoutId)},returned,R03 no account`;
      const res = stack.expectStatus(await importCsv(returned), 200, `import returned (${when})`);
      expect(res.body).toMatchObject({ applied: 1, unchanged: 0 });
      expect(await manualRow(payoutId)).toMatchObject({ state: 'returned', reason: 'R03 no account' });
      const payout = await stack.call('GET', `/v1/payouts/${payoutId}`);
      expect(payout.body.state).toBe('returned');
      expect(payout.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'settle', 'return']);
      const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
      expect(wallet.body.balances[0]).toMatchObject({
        available: { amount: '10000' },
        held: { amount: '0' },
      });
      // Importing it again changes nothing (no second credit).
      const again = stack.expectStatus(await importCsv(returned), 200, 'import returned again');
      expect(again.body).toMatchObject({ applied: 0, unchanged: 1 });
      await assertInvariants();
      const after = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
      expect(after.body.balances[0].available.amount).toBe('10000');
    }
  });

  it('import of a failed row: the payout fails over to the next provider, which pays it', async () => {
    const { payoutId } = await queuedPayout();
    const exported = stack.expectStatus(await exportCsv(), 200, 'export').text;
    const res = await importCsv(filled(exported, payoutId, 'failed', 'account closed at the bank'));
    expect(stack.expectStatus(res, 200, 'import').body).toEqual({ applied: 1, unchanged: 0, signalled: 1 });

    const final = await stack.resultWithBatches(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => [a.provider, a.outcome, a.detail])).toEqual([
      ['manual', 'failed', 'account closed at the bank'],
      ['sandbox', 'paid', undefined],
    ]);
    expect(await manualRow(payoutId)).toMatchObject({
      state: 'failed',
      reason: 'account closed at the bank',
    });
  });

  it("an operator's 'not paid' cannot fail over from a row already exported (it may be paid offline): the payout stays in review until the import says", async () => {
    const { payoutId } = await queuedPayout();
    const exported = stack.expectStatus(await exportCsv(), 200, 'export').text;
    // Past the confirmation deadline (24 h) and the unknown-outcome deadline (1 h): operator review.
    await untilReview(payoutId);
    const resolved = await stack.call('POST', `/v1/payouts/${payoutId}/resolve`, {
      key: operator(),
      body: { outcome: 'not_paid', reason: 'not in the bank statement yet' },
    });
    stack.expectStatus(resolved, 200, 'resolve');
    const refused = await untilRefused(payoutId);
    expect(refused?.state).toBe('review');
    expect(refused?.reasons.at(-1)?.message).toContain('it may still pay');
    expect(refused?.attempts.map((a) => [a.provider, a.outcome])).toEqual([['manual', 'unknown']]);
    expect(await manualRow(payoutId)).toMatchObject({ state: 'exported' });
    // The operator who holds the file then imports what the bank did: paid, settled once.
    stack.expectStatus(await importCsv(filled(exported, payoutId, 'paid')), 200, 'import');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([['manual', 'paid']]);
  });

  it("'not paid' with force (the provider confirmed it will never pay) fails over without cancelling there", async () => {
    const { payoutId } = await queuedPayout();
    stack.expectStatus(await exportCsv(), 200, 'export');
    await untilReview(payoutId);
    const resolve = (body: Record<string, unknown>) =>
      stack.call('POST', `/v1/payouts/${payoutId}/resolve`, { key: operator(), body });
    // Force only overrides a refusal, and only for not_paid.
    const early = await resolve({ outcome: 'not_paid', reason: 'bank rejected the file', force: true });
    expect([early.status, early.body.detail]).toEqual([
      409,
      expect.stringContaining('refused not_paid verdict only'),
    ]);
    const paidForced = await resolve({ outcome: 'paid', reason: 'bank statement shows it', force: true });
    expect(paidForced.status).toBe(409);
    stack.expectStatus(
      await resolve({ outcome: 'not_paid', reason: 'bank rejected the file' }),
      200,
      'resolve',
    );
    await untilRefused(payoutId);
    const forced = await resolve({
      outcome: 'not_paid',
      reason: 'bank confirmed the file was rejected',
      force: true,
    });
    stack.expectStatus(forced, 200, 'resolve with force');
    const final = await stack.resultWithBatches(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ['manual', 'not_paid'],
      ['sandbox', 'paid'],
    ]);
    expect(await manualRow(payoutId)).toMatchObject({ state: 'exported' });
    // The exported row must not be imported as paid now; voiding it is the operator's job at the bank.
  });

  it('import of a failed row when no other provider pays: the payout fails and the hold is released', async () => {
    stack.sandbox().setScenario({ declineRateBps: 10_000 });
    const { payeeId, payoutId } = await queuedPayout();
    const exported = stack.expectStatus(await exportCsv(), 200, 'export').text;
    stack.expectStatus(
      await importCsv(filled(exported, payoutId, 'failed', 'returned by bank')),
      200,
      'import',
    );
    const final = await stack.result(payoutId);
    expect(final.state).toBe('failed');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ['manual', 'failed'],
      ['sandbox', 'declined'],
    ]);
    expect(final.reasons.at(-1)?.code).toBe('all_providers_failed');
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0]).toMatchObject({ available: { amount: '10000' }, held: { amount: '0' } });
  });

  describe('bad files write nothing', () => {
    let payoutId: string;
    let key: string;
    beforeAll(async () => {
      ({ payoutId } = await queuedPayout());
      key = `${payoutId}:1`;
    });
    afterAll(async () => {
      // Resolve it so the scenario ends settled.
      stack.expectStatus(await importCsv(`${payoutId},${key},paid,\r\n`), 200, 'import');
      expect((await stack.result(payoutId)).state).toBe('paid');
    });

    const bad: [string, () => string, number, RegExp][] = [
      ['unterminated quote', () => `${payoutId},${key},"paid,\r\n`, 400, /csv\.line\.1/],
      ['unknown outcome', () => `${payoutId},${key},maybe,\r\n`, 400, /outcome must be/],
      ['failed without a reason', () => `${payoutId},${key},failed,\r\n`, 400, /needs a reason/],
      ['unknown idempotency key', () => `${payoutId},${payoutId}:9,paid,\r\n`, 400, /no payout queued/],
      [
        'key of another payout',
        () => `po_000000000000000000000000,${key},paid,\r\n`,
        400,
        /belongs to payout/,
      ],
      ['header only', () => 'payout_id,idempotency_key,outcome,reason\r\n', 400, /no result rows/],
      [
        'header missing a column',
        () => `payout_id,idempotency_key,outcome\r\n${payoutId},${key},paid\r\n`,
        400,
        /missing column/,
      ],
      [
        'a valid row next to an invalid one (all or nothing)',
        () => `${payoutId},${key},paid,\r\n${payoutId},${key},paid,\r\n`,
        400,
        /already appears on line 1/,
      ],
    ];
    for (const [name, make, status, detail] of bad) {
      it(`${name} → ${status} problem+json; nothing imported or signalled`, async () => {
        const before = await manualRow(payoutId);
        const audits = async () =>
          (
            await sql<{ n: string }>(
              stack.db.em(),
              `SELECT count(*)::text AS n FROM "${stack.db.schema}".audit_log WHERE action = 'provider.manual_import'`,
            )
          )[0]!.n;
        const auditBefore = await audits();
        const res = await importCsv(make());
        expect(res.status).toBe(status);
        expect(res.contentType).toContain('application/problem+json');
        expect(JSON.stringify(res.body.errors ?? res.body.detail)).toMatch(detail);
        expect(await manualRow(payoutId)).toEqual(before);
        expect(await audits()).toBe(auditBefore);
        expect(await signals(payoutId)).toBe(0);
        expect((await stack.gateway.status(payoutId))?.state).toBe('awaiting_confirmation');
      });
    }

    it('a body that is not {csv} → 400, nothing imported', async () => {
      const before = await manualRow(payoutId);
      for (const body of [{}, { csv: '' }, { csv: 'x', extra: 1 }, { csv: 42 }]) {
        const res = await stack.call('POST', '/v1/providers/manual/import', { key: operator(), body });
        expect(res.status).toBe(400);
        expect(res.contentType).toContain('application/problem+json');
      }
      expect(await manualRow(payoutId)).toEqual(before);
    });

    it("the manual provider's rows cannot be imported through another provider", async () => {
      const res = await importCsv(`${payoutId},${key},paid,\r\n`, operator(), 'sandbox');
      expect(res.status).toBe(422);
      expect(res.body.detail).toMatch(/not a manual provider/);
      expect((await importCsv(`${payoutId},${key},paid,\r\n`, operator(), 'nosuch')).status).toBe(404);
      expect((await exportCsv('', operator(), 'sandbox')).status).toBe(422);
      expect((await exportCsv('', operator(), 'nosuch')).status).toBe(404);
      expect((await exportCsv('', operator(), 'Bad Name!')).status).toBe(400);
      expect(await signals(payoutId)).toBe(0);
    });

    it('only operators may export or import; payee tokens and other roles are refused before anything runs', async () => {
      const payeeId = (await stack.call('GET', `/v1/payouts/${payoutId}`)).body.payeeId as string;
      const token = stack.expectStatus(
        await stack.call('POST', `/v1/payees/${payeeId}/tokens`, { body: {} }),
        201,
        'token',
      ).body.token as string;
      const before = await manualRow(payoutId);
      for (const key of [stack.keys.platform.key, stack.keys.approver.key, token]) {
        const exp = await exportCsv('?includeExported=true', key);
        expect([exp.status, exp.body.kind]).toEqual([403, 'forbidden']);
        const imp = await importCsv(`${payoutId},${payoutId}:1,paid,\r\n`, key);
        expect([imp.status, imp.body.kind]).toEqual([403, 'forbidden']);
      }
      expect((await exportCsv('', null)).status).toBe(401);
      expect((await importCsv(`${payoutId},${payoutId}:1,paid,\r\n`, null)).status).toBe(401);
      expect(await manualRow(payoutId)).toEqual(before);
      expect(await signals(payoutId)).toBe(0);
    });
  });
});
