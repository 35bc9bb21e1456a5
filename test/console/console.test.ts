// The console in a real browser (Debian's Chromium) against the real stack: API + worker + temporal-dev +
// sandbox. Each role's journey, the object checks a direct URL meets, and the CSRF and cookie rules.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { type Stack, startStack } from '../support/stack.ts';
import { openSession, type Session, screenshot, signIn } from './browser.ts';

describe('console in Chromium', () => {
  let stack: Stack;
  const sessions: Session[] = [];
  const session = async () => {
    const s = await openSession();
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    // The payout page links each workflow to Temporal UI when one is configured.
    process.env.TEMPORAL_UI_URL = 'http://temporal-ui.test:8080';
    stack = await startStack('console', {
      env: {
        APPROVAL_THRESHOLD_SINGLE: 'USD:10000,EUR:10000',
        APPROVAL_THRESHOLD_DUAL: 'USD:100000,EUR:100000',
      },
      // EUR batch payouts go to the manual provider (offline CSV); everything else to the sandbox.
      providers: [
        { name: 'sandbox' },
        { name: 'manual', kind: 'manual', capabilities: { currencies: ['EUR'], priority: 1 } },
      ],
    });
  });
  afterAll(async () => {
    delete process.env.TEMPORAL_UI_URL;
    for (const s of sessions) await s.close();
    await stack?.close();
  });

  async function payeeToken(payeeId: string): Promise<string> {
    const res = stack.expectStatus(
      await stack.call('POST', `/v1/payees/${payeeId}/tokens`, { body: {} }),
      201,
      'issue payee token',
    );
    return res.body.token as string;
  }

  it('two approvers approve a dual-control payout from two sessions with TOTP', async () => {
    const payeeId = await stack.createPayee({ credit: '300000' });
    const payoutId = await stack.requestPayout(payeeId, '150000');
    await stack.waitForState(payoutId, ['pending_approval']);
    const ann = await stack.approver('ann');
    const bob = await stack.approver('bob');

    const first = await session();
    await signIn(first, stack.url, ann.key);
    const card = first.page.locator(`[data-payout-id="${payoutId}"]`);
    await card.getByTestId('approvals').getByText('Approvals 0 of 2 (dual control)').waitFor();
    await card.getByTestId('why').getByText('1500.00 USD ≥ dual-control threshold 1000.00').waitFor();
    // Time left before the undecided payout is escalated.
    await card
      .getByTestId('payout-timer')
      .getByText(/^Escalated if undecided at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \((\d+ (min|h)|no time) left\)$/)
      .waitFor();
    await card.locator('input[name=reason]').fill('checked the statement');
    await card.locator('input[name=totp]').fill(ann.code());
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.getByText('Approved: the payout is now pending_approval').waitFor();
    await screenshot(first.page, 'approver-inbox');

    // The same approver again: the API refuses, and the page shows its reason.
    await first.page.reload();
    const again = first.page.locator(`[data-payout-id="${payoutId}"]`);
    await again.getByText('approved by ann — you approved already').waitFor();
    await again.locator('input[name=reason]').fill('once more');
    await again.locator('input[name=totp]').fill(ann.code());
    await again.getByRole('button', { name: 'Approve' }).click();
    await again.getByText(/^Refused: /).waitFor();

    const second = await session();
    await signIn(second, stack.url, bob.key);
    const bobs = second.page.locator(`[data-payout-id="${payoutId}"]`);
    await bobs.getByText('Approvals 1 of 2').waitFor();
    await bobs.locator('input[name=reason]').fill('second pair of eyes');
    await bobs.locator('input[name=totp]').fill(bob.code());
    await bobs.getByRole('button', { name: 'Approve' }).click();
    await bobs.getByText(/^Approved: the payout is now (?!pending_approval)/).waitFor();

    const after = await stack.call('GET', `/v1/payouts/${payoutId}`);
    expect(after.body.approvals.map((a: { actor: string }) => a.actor)).toEqual(['ann', 'bob']);
    const audit = await stack.call('GET', `/v1/payouts/${payoutId}/audit`, { key: stack.keys.operator.key });
    expect(audit.body.items.map((a: { actor: string; action: string }) => `${a.actor}:${a.action}`)).toEqual(
      expect.arrayContaining(['ann:payout.approve', 'bob:payout.approve']),
    );
  });

  it('an approver rejects a payout with a reason and TOTP; the payee gets the money back', async () => {
    const payeeId = await stack.createPayee({ credit: '30000' });
    const payoutId = await stack.requestPayout(payeeId, '12000');
    await stack.waitForState(payoutId, ['pending_approval']);
    const rita = await stack.approver('rita');
    const s = await session();
    await signIn(s, stack.url, rita.key);
    const card = s.page.locator(`[data-payout-id="${payoutId}"]`);
    await card.getByTestId('approvals').getByText('Approvals 0 of 1').waitFor();
    // A wrong code is refused by the API, and the page says why.
    await card.locator('input[name=reason]').fill('destination looks wrong');
    await card.locator('input[name=totp]').fill(rita.code() === '000000' ? '111111' : '000000');
    await card.getByRole('button', { name: 'Reject' }).click();
    await card
      .getByTestId('decision-result')
      .getByText(/^Refused: .*TOTP/i)
      .waitFor();
    await card.locator('input[name=totp]').fill(rita.code());
    await card.getByRole('button', { name: 'Reject' }).click();
    await card.getByText('Rejected: the payout is now rejected').waitFor();
    expect((await stack.result(payoutId)).state).toBe('rejected');
    await card.getByRole('link', { name: payoutId }).click();
    await s.page.getByTestId('summary').getByText('rita rejected (destination looks wrong)').waitFor();
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('30000');
  });

  it('an operator clears a compliance hold and cancels a scheduled payout from their pages', async () => {
    const heldPayee = await stack.createPayee({ credit: '10000', payee: { kycStatus: 'pending' } });
    const held = await stack.requestPayout(heldPayee, '2000');
    await stack.waitForState(held, ['compliance_hold']);
    const payeeId = await stack.createPayee({ credit: '10000' });
    const scheduled = await stack.requestPayout(payeeId, '3000', { instant: false });
    await stack.waitForState(scheduled, ['scheduled']);

    const op = await session();
    await signIn(op, stack.url, stack.keys.operator.key);
    await op.page.goto(`${stack.url}/console/#/payouts/${held}`);
    await op.page.getByTestId('summary').getByText('kyc_not_verified', { exact: false }).waitFor();
    const actions = op.page.getByTestId('actions');
    await actions.locator('input[name=reason]').fill('KYC documents verified by phone');
    await actions.getByRole('button', { name: 'Clear compliance hold' }).click();
    // The answer stays on the page it redraws (action-notice) after showing under the buttons.
    const cleared = op.page.getByTestId('action-notice');
    await cleared.getByText(/^(Done|Refused): /).waitFor();
    expect(await cleared.textContent()).toMatch(/^Done: the payout is now (?!compliance_hold)/);
    await stack.waitForState(held, ['awaiting_confirmation', 'paid']);
    await op.page.getByTestId('audit').getByText('payout.compliance_clear').waitFor();

    await op.page.goto(`${stack.url}/console/#/payouts/${scheduled}`);
    await op.page.locator('h1 [data-state="scheduled"]').waitFor();
    await op.page.getByTestId('actions').locator('input[name=reason]').fill('payee asked to stop it');
    await op.page.getByRole('button', { name: 'Cancel payout' }).click();
    await op.page.getByTestId('action-notice').getByText('Done: the payout is now cancelled').waitFor();
    await op.page.locator('h1 [data-state="cancelled"]').waitFor();
    // A final payout offers no action.
    expect(await op.page.getByTestId('actions').count()).toBe(0);
    await screenshot(op.page, 'operator-payout-cancelled');
    expect((await stack.result(scheduled)).state).toBe('cancelled');
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('10000');
  });

  it('an operator finds an unknown-outcome payout, reads its history and resolves it', async () => {
    // A scheduled payout on the sandbox's batch rail stays unconfirmed until its batch runs: past the
    // confirmation deadline its outcome is unknown.
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000', { instant: false });
    const scheduled = await stack.waitForState(payoutId, ['scheduled']);
    const wait = Date.parse(scheduled.nextTimer!.at) - (await stack.temporal.currentTimeMs());
    await stack.temporal.sleep(Math.max(0, wait) + 1_000);
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    let state = '';
    for (let i = 0; i < 24 && state !== 'unknown_outcome' && state !== 'review'; i++) {
      await stack.temporal.sleep(15 * 60_000);
      state = (await stack.gateway.status(payoutId))?.state ?? '';
    }
    expect(['unknown_outcome', 'review']).toContain(state);

    const op = await session();
    await signIn(op, stack.url, stack.keys.operator.key);
    await op.page.locator('select[name=state]').selectOption(state);
    await op.page.locator('input[name=payee]').fill(payeeId);
    await op.page.getByRole('button', { name: 'Search' }).click();
    await op.page.locator(`tr[data-payout-id="${payoutId}"]`).waitFor();
    expect(op.page.url()).toContain(`state=${state}`); // the API's filter name (glossary: state)
    await screenshot(op.page, 'operator-search');
    await op.page.getByRole('link', { name: payoutId }).click();

    const history = op.page.getByTestId('history');
    await history.getByText('WorkflowExecutionStarted').waitFor();
    await history.getByText('TimerStarted').first().waitFor();
    await op.page.getByTestId('attempts').getByText(`${payoutId}:1`).waitFor();
    await op.page.getByTestId('timeline').getByText('payout.unknown_outcome').waitFor();
    await op.page.getByTestId('webhooks').getByText('payout.unknown_outcome', { exact: true }).waitFor();
    await op.page.getByTestId('ledger').getByText('hold', { exact: true }).waitFor();
    expect(await op.page.getByTestId('temporal-ui').getAttribute('href')).toBe(
      `http://temporal-ui.test:8080/namespaces/default/workflows/payout-${payoutId}`,
    );
    await screenshot(op.page, 'operator-payout');

    const actions = op.page.getByTestId('actions');
    await actions.locator('select[name=outcome]').selectOption('paid');
    await actions.locator('input[name=reason]').fill('provider statement shows it paid');
    await actions.getByRole('button', { name: 'Resolve unknown outcome' }).click();
    await op.page
      .getByTestId('action-notice')
      .getByText(/^Done: the payout is now /)
      .waitFor();
    // The provider's records agree (its batch pays it); run only after the verdict, or its webhook races it.
    await stack.sandbox().runBatch();
    expect((await stack.result(payoutId)).state).toBe('paid');
    await op.page.reload();
    await op.page.locator('h1 [data-state="paid"]').waitFor();
    await op.page.getByTestId('audit').getByText('payout.resolve_unknown_outcome').waitFor();
    await screenshot(op.page, 'operator-payout-resolved');
    await stack.assertInvariants();
  });

  it('a payee requests an instant payout, sees the fee first, and watches it reach paid', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payee = await session();
    await signIn(payee, stack.url, await payeeToken(payeeId));
    await payee.page.getByTestId('balances').getByText('100.00').waitFor();
    await payee.page
      .getByTestId('destinations')
      .getByText(/bank_account: \*+\d{4}/)
      .waitFor();
    await payee.page
      .getByTestId('earnings')
      .getByText(/^Period \d{4}-\S+ \(open, provisional\)/)
      .waitFor();
    await payee.page.getByTestId('grants').getByText('No credit grant.').waitFor();

    // Scheduled first: the next window is shown, and nothing is requested until confirmed.
    await payee.page.locator('input[name=amount]').fill('25.00');
    await payee.page.locator('input[value=scheduled]').check();
    await payee.page.getByRole('button', { name: 'Review' }).click();
    await payee.page
      .getByTestId('quote')
      .getByText(/^Scheduled: paid in the next payout window, \d{4}-/)
      .waitFor();
    await screenshot(payee.page, 'payee-quote-scheduled');

    await payee.page.locator('input[value=instant]').check();
    await payee.page.getByRole('button', { name: 'Review' }).click();
    // Default instant fee: 0.25 + 1% of 25.00 = 0.50.
    await payee.page.getByTestId('quote').getByText('Instant: fee 0.50 USD, you receive 24.50 USD').waitFor();
    await screenshot(payee.page, 'payee-quote-instant');
    const none = await stack.call('GET', `/v1/payouts?payee=${payeeId}`);
    expect(none.body.items).toEqual([]);

    await payee.page.getByRole('button', { name: 'Confirm payout' }).click();
    const result = payee.page.getByTestId('request-result');
    await result.getByText(/^Payout po_\S+ requested$/).waitFor();
    const payoutId = (await result.getAttribute('data-payout-id'))!;
    await stack.waitForState(payoutId, ['awaiting_confirmation', 'paid']);
    await stack.settleByWebhook(payoutId);
    await payee.page.locator(`[data-payout-id="${payoutId}"] [data-state="paid"]`).waitFor();
    await payee.page.getByTestId('balances').getByText('75.00').waitFor();
    await screenshot(payee.page, 'payee-portal');
    const paid = await stack.call('GET', `/v1/payouts/${payoutId}`);
    expect([paid.body.state, paid.body.rail, paid.body.fee.amount]).toEqual(['paid', 'instant', '50']);
    // Its own payout's page: what happened to it, without the staff's audit, webhooks or workflow history.
    await payee.page.getByRole('link', { name: payoutId }).click();
    await payee.page.locator('h1 [data-state="paid"]').waitFor();
    await payee.page.getByTestId('summary').getByText('0.50 USD').waitFor();
    await payee.page.getByTestId('ledger').getByText('settle', { exact: true }).waitFor();
    for (const staffOnly of ['audit', 'webhooks', 'history', 'actions'])
      expect([staffOnly, await payee.page.getByTestId(staffOnly).count()]).toEqual([staffOnly, 0]);
    await screenshot(payee.page, 'payee-payout');
  });

  it('an operator searches payouts by provider, amount range and creation day', async () => {
    const payeeId = await stack.createPayee({ credit: '20000' });
    const ids: string[] = [];
    for (const amount of ['1200', '3000', '4500']) {
      const id = await stack.requestPayout(payeeId, amount);
      await stack.waitForState(id, ['awaiting_confirmation', 'paid']);
      ids.push(id);
    }
    const [small, middle, large] = ids as [string, string, string];
    // The first payout's day (UTC): the other two were created then or later.
    const createdAt = (await stack.call('GET', `/v1/payouts/${small}`)).body.createdAt as string;
    const day = createdAt.slice(0, 10);
    const dayBefore = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);

    const op = await session();
    await signIn(op, stack.url, stack.keys.operator.key);
    const page = op.page;
    const rows = page.locator('#results tbody tr');
    const search = async (fields: Record<string, string>) => {
      for (const name of ['payee', 'provider', 'currency', 'min', 'max', 'from', 'to'])
        await page.locator(`input[name=${name}]`).fill(fields[name] ?? '');
      await page.getByRole('button', { name: 'Search' }).click();
    };
    const shown = async () =>
      (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-payout-id')))).sort();

    await search({ payee: payeeId, provider: 'sandbox', currency: 'usd', min: '20', max: '45.00' });
    await page.locator(`tr[data-payout-id="${large}"]`).waitFor();
    expect(await shown()).toEqual([middle, large].sort());
    await screenshot(page, 'operator-search-filters');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('export-csv').click(),
    ]);
    const csv = (await readFile((await download.path())!, 'utf8')).split('\r\n').filter((l) => l !== '');
    expect(csv[0]).toMatch(/^payout_id,payee_id,amount,currency,/);
    expect(
      csv
        .slice(1)
        .map((l) => l.split(',').slice(0, 4).join(','))
        .sort(),
    ).toEqual([`${middle},${payeeId},30.00,USD`, `${large},${payeeId},45.00,USD`].sort());
    // Bounds are inclusive, and what was typed stays in the form (and the URL).
    await search({ payee: payeeId, currency: 'USD', max: '12', from: day, to: day });
    await page.locator(`tr[data-payout-id="${small}"]`).waitFor();
    expect(await shown()).toEqual([small]);
    expect(page.url()).toContain('max=12');
    expect(await page.locator('input[name=to]').inputValue()).toBe(day);

    await search({ payee: payeeId, provider: 'manual' });
    await page.getByText('No payout matches.').waitFor();
    await search({ payee: payeeId, to: dayBefore });
    await page.getByText('No payout matches.').waitFor();
    await search({ payee: payeeId, from: day });
    await page.locator(`tr[data-payout-id="${small}"]`).waitFor();
    expect(await shown()).toEqual([...ids].sort());

    // Page by page (newest first), the filters kept from one page to the next.
    await page.goto(`${stack.url}/console/#/payouts?payee=${payeeId}&currency=USD&min=20&limit=1`);
    await page.locator(`tr[data-payout-id="${large}"]`).waitFor();
    expect(await shown()).toEqual([large]);
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.locator(`tr[data-payout-id="${middle}"]`).waitFor();
    expect(await shown()).toEqual([middle]);
    expect(await page.getByRole('link', { name: 'Next page' }).count()).toBe(0);

    // An amount needs its currency; the form says so before asking the API. What the API refuses is shown.
    await search({ payee: payeeId, min: '20' });
    await page.getByTestId('search-error').getByText('Amount from: choose a currency too').waitFor();
    await search({ payee: payeeId, currency: 'USD', min: '20.123' });
    await page.getByTestId('search-error').getByText('at most 2 decimals').waitFor();
    await search({ payee: payeeId, currency: 'XYZ', min: '1' });
    await page.getByTestId('search-error').getByText('XYZ is not a known currency').waitFor();
    await page.goto(`${stack.url}/console/#/payouts?from=yesterday`);
    await page.getByTestId('search-error').getByText('query.createdFrom').waitFor();
  });

  it("a payee cannot open another payee's portal or payout by direct URL", async () => {
    const mine = await stack.createPayee({ credit: '1000' });
    const theirs = await stack.createPayee({ credit: '9000', payee: { name: 'Theirs Secret' } });
    const theirPayout = await stack.requestPayout(theirs, '1000', { instant: false });
    const s = await session();
    await signIn(s, stack.url, await payeeToken(mine));
    await s.page.goto(`${stack.url}/console/#/portal/${theirs}`);
    await s.page.getByTestId('not-found').getByText(`Payee ${theirs} not found`).waitFor();
    await screenshot(s.page, 'payee-other-refused');
    await s.page.goto(`${stack.url}/console/#/payouts/${theirPayout}`);
    await s.page.getByTestId('not-found').getByText(`Payout ${theirPayout} not found`).waitFor();
    expect(await s.page.content()).not.toContain('Theirs Secret');
    // The same token may read its own portal.
    await s.page.goto(`${stack.url}/console/#/portal/${mine}`);
    await s.page.getByTestId('balances').getByText('10.00').waitFor();
  });

  it('an operator verifies the ledger and runs a bulk payout with live counts, then cancels it', async () => {
    const op = await session();
    await signIn(op, stack.url, stack.keys.operator.key);
    await op.page.getByRole('link', { name: 'Tools' }).click();
    await op.page.getByRole('button', { name: 'Verify ledger' }).click();
    await op.page
      .getByTestId('verify-result')
      .getByText(/^Ledger OK: \d+ accounts, \d+ transactions/)
      .waitFor();
    const bulk = op.page.getByTestId('bulk');
    await bulk.locator('input[name=minBalance]').fill('15.001');
    await bulk.getByRole('button', { name: 'Create bulk' }).click();
    await bulk.getByText('Min balance: enter an amount such as 15.00 (at most 2 decimals)').waitFor();
    await bulk.locator('input[name=minBalance]').fill('9000000.00');
    await bulk.getByRole('button', { name: 'Create bulk' }).click();
    await bulk
      .getByTestId('bulk-counts')
      .getByText(/^completed: 0 of 0 started/)
      .waitFor();
    await stack.createPayee({ credit: '2000' });
    await bulk.locator('input[name=minBalance]').fill('15');
    await bulk.getByRole('button', { name: 'Create bulk' }).click();
    await bulk
      .getByTestId('bulk-counts')
      .getByText(/: [1-9]\d* of [1-9]\d* started/)
      .waitFor();
    await screenshot(op.page, 'operator-tools');
    await bulk.getByRole('button', { name: 'Cancel bulk' }).click();
    await bulk.getByText(/^Cancellation asked/).waitFor();
    // The live counts say what the cancel did once the bulk has carried it out.
    await bulk
      .getByTestId('bulk-cancellation')
      .getByText(/^Cancelled by olga: \d+ not started dropped, \d+ already with a provider run to their end$/)
      .waitFor();
    expect(await bulk.getByRole('button', { name: 'Cancel bulk' }).isDisabled()).toBe(true);
  });

  it('an operator downloads the manual provider CSV, fills in the outcome and uploads the result file', async () => {
    const payeeId = await stack.createPayee({
      payee: { defaultCurrency: 'EUR' },
      bankAccount: { currency: 'EUR' },
    });
    await stack.credit(payeeId, '10000', 'EUR');
    const requested = stack.expectStatus(
      await stack.call('POST', '/v1/payouts', {
        body: {
          payeeId,
          amount: { amount: '4000', currency: 'EUR', scale: 2 },
          method: 'bank_transfer',
          instant: false,
        },
      }),
      202,
      'request EUR payout',
    );
    const payoutId = requested.body.id as string;
    const scheduled = await stack.waitForState(payoutId, ['scheduled']);
    const wait = Date.parse(scheduled.nextTimer!.at) - (await stack.temporal.currentTimeMs());
    await stack.temporal.sleep(Math.max(0, wait) + 1_000);
    const queued = await stack.waitForState(payoutId, ['awaiting_confirmation']);
    expect(queued.attempts).toEqual([expect.objectContaining({ provider: 'manual', outcome: 'pending' })]);

    const op = await session();
    await signIn(op, stack.url, stack.keys.operator.key);
    await op.page.getByRole('link', { name: 'Tools' }).click();
    const manual = op.page.getByTestId('manual');
    const [download] = await Promise.all([
      op.page.waitForEvent('download'),
      manual.getByTestId('export-link').click(),
    ]);
    expect(download.suggestedFilename()).toBe('manual-payouts.csv');
    const exported = await readFile((await download.path())!, 'utf8');
    const [header, ...lines] = exported.split('\r\n').filter((l) => l !== '');
    expect(header).toBe(
      'payout_id,idempotency_key,payee_id,payee_name,payee_country,method,amount,currency,destination,queued_at,outcome,reason',
    );
    const row = lines.find((l) => l.startsWith(`${payoutId},`));
    expect(row).toMatch(new RegExp(`^${payoutId},${payoutId}:1,${payeeId},.*,40\\.00,EUR,\\*+\\d{4},.*,,$`));

    // Exported rows are not exported twice, unless the operator asks again for a lost file.
    const exportAgain = async () => {
      const [next] = await Promise.all([
        op.page.waitForEvent('download'),
        manual.getByTestId('export-link').click(),
      ]);
      return readFile((await next.path())!, 'utf8');
    };
    expect(await exportAgain()).not.toContain(payoutId);
    await manual.locator('input[name=includeExported]').check();
    expect(await exportAgain()).toContain(`${row}\r\n`);

    // The operator's result file: the row with its outcome filled in, as a spreadsheet would save it.
    const results = `${header}\r\n${row!.replace(/,,$/, ',paid,')}\r\n`;
    await manual
      .locator('input[name=csv]')
      .setInputFiles({ name: 'manual-results.csv', mimeType: 'text/csv', buffer: Buffer.from(results) });
    await manual.getByRole('button', { name: 'Import results' }).click();
    await manual
      .getByTestId('import-result')
      .getByText('Imported: 1 applied, 0 unchanged, 1 signalled')
      .waitFor();
    await screenshot(op.page, 'operator-manual-import');
    expect((await stack.result(payoutId)).state).toBe('paid');

    // The same file again changes nothing; a file with a bad outcome is refused, naming its line.
    await manual.locator('input[name=csv]').setInputFiles({
      name: 'again.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(results),
    });
    await manual.getByRole('button', { name: 'Import results' }).click();
    await manual.getByTestId('import-result').getByText('Imported: 0 applied, 1 unchanged').waitFor();
    await manual.locator('input[name=csv]').setInputFiles({
      name: 'bad.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`${header}\r\n${row!.replace(/,,$/, ',maybe,')}\r\n`),
    });
    await manual.getByRole('button', { name: 'Import results' }).click();
    await manual
      .getByTestId('import-result')
      .getByText(/^Refused: 1 invalid row\(s\); nothing was imported\ncsv\.line\.2: /)
      .waitFor();
    // (stack.assertInvariants counts only what the sandbox paid; this payout was paid offline.)
    const payout = await stack.call('GET', `/v1/payouts/${payoutId}`);
    expect(payout.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'settle']);
    expect((await verifyLedger(stack.db.em(), stack.db.schema)).violations).toEqual([]);
  });

  it('a payee sees restricted credit with its expiry, spendback orders, and downloads a statement CSV', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const expiresAt = '2029-06-30T00:00:00.000Z';
    stack.expectStatus(
      await stack.call('POST', `/v1/payees/${payeeId}/credits/grants`, {
        body: {
          amount: { amount: '2000', currency: 'USD', scale: 2 },
          reference: `promo-${payeeId}`,
          expiresAt,
          reason: 'launch promotion',
        },
      }),
      201,
      'grant credit',
    );
    stack.expectStatus(
      await stack.call('POST', `/v1/payees/${payeeId}/spendback`, {
        body: { orderReference: `order-${payeeId}`, amount: { amount: '500', currency: 'USD', scale: 2 } },
      }),
      201,
      'spendback order',
    );
    const sale = {
      externalId: `console-portal-sale-${payeeId}`,
      payeeId,
      type: 'sale',
      amount: { amount: '30000', currency: 'USD', scale: 2 },
      occurredAt: '2026-05-12T10:00:00Z',
      volume: 300,
    };
    stack.expectStatus(
      await stack.call('POST', '/v1/earnings', { body: { events: [sale] } }),
      200,
      'earnings',
    );

    const payee = await session();
    await signIn(payee, stack.url, await payeeToken(payeeId));
    await payee.page
      .getByTestId('restricted')
      .getByText('15.00 (15.00 USD expires 2029-06-30 00:00:00Z)')
      .waitFor();
    const grant = payee.page.getByTestId('grants').locator('tr', { hasText: 'launch promotion' });
    await grant.getByText('2029-06-30 00:00:00Z').waitFor();
    await grant.getByText('15.00 USD').waitFor();
    const order = payee.page.getByTestId('orders').locator('tr', { hasText: `order-${payeeId}` });
    await order.getByText('5.00 USD').first().waitFor();
    expect(await order.locator('td').allTextContents()).toEqual([
      `order-${payeeId}`,
      '5.00 USD',
      '5.00 USD',
      '0.00 USD',
      '0.00 USD',
      expect.stringMatching(/^\d{4}-/),
    ]);

    const earnings = payee.page.getByTestId('earnings');
    await payee.page.locator('input[name=period]').fill('2026-05');
    await payee.page.getByRole('button', { name: 'Show' }).click();
    await earnings.getByText('Period 2026-05 (open, provisional)').waitFor();
    const total = await earnings.locator('tbody tr td strong').first().textContent();
    await screenshot(payee.page, 'payee-credits-statement');
    const [download] = await Promise.all([
      payee.page.waitForEvent('download'),
      earnings.getByRole('link', { name: 'Download statement CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('statement-2026-05.csv');
    const csv = (await readFile((await download.path())!, 'utf8')).split('\r\n');
    expect(csv[0]).toBe(
      'currency,personalVolume,groupVolume,rank,commission,overrides,bonus,adjustments,total',
    );
    const cells = csv[1]!.split(',');
    expect([cells[0], cells[1]]).toEqual(['USD', '300']);
    expect(cells[8]).toBe(total);
    expect(csv.slice(2)).toEqual(['']);
  });

  it('an operator closes a period and watches its progress; an approver approves it with TOTP', async () => {
    const periodId = '2026-03';
    // Paid out automatically once the period posts: the operator then finds the payout by its period.
    const payeeId = await stack.createPayee({
      payee: { payoutPreferences: { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: true } },
    });
    const sale = {
      externalId: `console-sale-${payeeId}`,
      payeeId,
      type: 'sale',
      amount: { amount: '20000', currency: 'USD', scale: 2 },
      occurredAt: '2026-03-10T10:00:00Z',
      volume: 200,
    };
    // Another payee only has a clawback: once posted, what they owe is carried as a receivable.
    const owing = await stack.createPayee();
    const clawback = {
      externalId: `console-clawback-${owing}`,
      payeeId: owing,
      type: 'clawback',
      amount: { amount: '100', currency: 'USD', scale: 2 },
      occurredAt: '2026-03-11T10:00:00Z',
    };
    stack.expectStatus(
      await stack.call('POST', '/v1/earnings', { body: { events: [sale, clawback] } }),
      200,
      'earnings',
    );
    const op = await session();
    await signIn(op, stack.url, stack.keys.operator.key);
    await op.page.getByRole('link', { name: 'Periods' }).click();
    await op.page.locator('input[name=period]').fill(periodId);
    await op.page.getByRole('button', { name: 'Open' }).click();
    await op.page.getByRole('button', { name: 'Close period' }).click();
    await op.page.getByTestId('period-result').getByText('Close started').waitFor();
    await op.page
      .getByTestId('stage')
      .getByText(/^Stage: awaiting_approval/)
      .waitFor();
    await op.page
      .getByTestId('calculated')
      .getByText(/^Batches calculated: ([1-9]\d*) of \1$/)
      .waitFor();
    // The run's statements to review, in decimals: the payee's row and the run's total.
    const row = op.page.getByTestId('statements').locator(`tr[data-payee-id="${payeeId}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 2)).toEqual([payeeId, 'USD']);
    expect(cells[7]).toMatch(/^\d+\.\d{2}$/);
    await op.page
      .getByTestId('totals')
      .getByText(/^\d+\.\d{2}$/)
      .first()
      .waitFor();
    await op.page
      .getByTestId('next-timer')
      .getByText(/^Approval (reminder|escalation) due at \d{4}-/)
      .waitFor();
    await screenshot(op.page, 'operator-period');

    // Recalculate before approval: an unknown plan is refused with the API's reason; a loaded one runs again.
    await op.page.locator('input[name=planVersion]').fill('no-such-plan');
    await op.page.getByRole('button', { name: 'Recalculate' }).click();
    await op.page
      .getByTestId('period-result')
      .getByText(/^Refused: Plan version no-such-plan is not loaded; known: /)
      .waitFor();
    await op.page.locator('input[name=planVersion]').fill('standard-2026.2');
    await op.page.getByRole('button', { name: 'Recalculate' }).click();
    await op.page
      .getByTestId('period-result')
      .getByText('Recalculation started: run 2 with plan standard-2026.2')
      .waitFor();
    await op.page
      .getByTestId('diff')
      .getByText(/^Recalculation run 1 → 2: \d+ statements? changed, \d+ added, \d+ removed/)
      .waitFor();
    await op.page
      .getByTestId('stage')
      .getByText(/^Stage: awaiting_approval \(run 2, plan standard-2026\.2\)/)
      .waitFor();
    await op.page.getByTestId('statements').getByText('Run 2').waitFor();
    await op.page.getByTestId('statements').locator(`tr[data-payee-id="${payeeId}"]`).waitFor();
    // The close workflow's history, read through the API; the recalculation is an update it accepted.
    const history = op.page.getByTestId('history');
    await history.getByText('WorkflowExecutionStarted').waitFor();
    await history.getByRole('button', { name: /^(Load more|Newer events)$/ }).click();
    await history
      .locator('tr', { hasText: 'WorkflowExecutionUpdateAccepted' })
      .getByText('recalculate', { exact: true })
      .waitFor();
    expect(await history.getByTestId('temporal-ui').getAttribute('href')).toBe(
      `http://temporal-ui.test:8080/namespaces/default/workflows/period-${periodId}`,
    );

    const approver = await stack.approver('petra');
    const ap = await session();
    await signIn(ap, stack.url, approver.key);
    const periodCard = ap.page.locator(`[data-period-id="${periodId}"]`);
    await periodCard.getByText('Approvals 0 of 1').waitFor();
    await periodCard
      .getByTestId('period-timer')
      .getByText(
        /^Approval (reminder|escalation) due at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \((\d+ (min|h)|no time) left\)$/,
      )
      .waitFor();
    await periodCard
      .getByTestId('period-totals')
      .getByText(/^Totals: \d+\.\d{2} USD$/)
      .waitFor();
    await screenshot(ap.page, 'approver-inbox-period');
    await periodCard.getByRole('link', { name: 'Review the progress and decide' }).click();
    await ap.page
      .getByTestId('stage')
      .getByText(/^Stage: awaiting_approval/)
      .waitFor();
    await ap.page.locator('input[name=reason]').fill('statements checked');
    await ap.page.locator('input[name=totp]').fill(approver.code());
    await ap.page.getByRole('button', { name: 'Approve period' }).click();
    await ap.page
      .getByTestId('period-result')
      .getByText(/^Approved: stage /)
      .waitFor();
    // The operator's page follows on its own to the posted batches.
    await op.page
      .getByTestId('posted')
      .getByText(/^Batches posted: ([1-9]\d*) of \1$/)
      .waitFor();
    await op.page
      .getByTestId('summary')
      .getByText(/^Completed: run 2 posted in \d+ postings? \(\d+\.\d{2} USD\); payouts: /)
      .waitFor();
    await screenshot(op.page, 'operator-period-posted');
    await op.page
      .getByTestId('payouts')
      .getByText(/^Payouts started: 1 of 1$/)
      .waitFor();
    await op.page.goto(`${stack.url}/console/#/payouts?periodId=${periodId}`);
    const periodRow = op.page.locator('#results tbody tr');
    await periodRow.first().waitFor();
    expect(await periodRow.count()).toBe(1);
    expect(await periodRow.locator('td').nth(3).allTextContents()).toEqual([payeeId]);
    expect(await periodRow.locator('td').nth(5).allTextContents()).toEqual([periodId]);
    expect(await op.page.locator('input[name=periodId]').inputValue()).toBe(periodId);

    // The payee who owes sees it in the portal, as the wallet has it.
    const wallet = stack.expectStatus(
      await stack.call('GET', `/v1/payees/${owing}/wallet`),
      200,
      'wallet',
    ).body;
    const receivable = wallet.balances[0].receivable as { amount: string; scale: number };
    expect(receivable.amount).toMatch(/^-[1-9]\d*$/);
    const digits = receivable.amount.slice(1).padStart(receivable.scale + 1, '0');
    const shown = `-${digits.slice(0, -receivable.scale)}.${digits.slice(-receivable.scale)}`;
    const payee = await session();
    await signIn(payee, stack.url, await payeeToken(owing));
    await payee.page.locator('tr[data-currency="USD"]').getByTestId('receivable').getByText(shown).waitFor();
    await screenshot(payee.page, 'payee-receivable');
  });

  it('refuses a state-changing request without the CSRF token, and keeps the credential out of the page', async () => {
    const payeeId = await stack.createPayee({ credit: '5000' });
    const token = await payeeToken(payeeId);
    const s = await session();
    await s.page.goto(`${stack.url}/console/`);
    await s.page.locator('input[name=credential]').waitFor();
    await screenshot(s.page, 'signin');
    await signIn(s, stack.url, token);
    const count = async () =>
      (
        await sql<{ n: string }>(
          stack.db.em(),
          `SELECT count(*)::text AS n FROM "${stack.db.schema}".payouts WHERE payee_id = $1`,
          [payeeId],
        )
      )[0]!.n;
    const body = { payeeId, amount: { amount: '1000', currency: 'USD', scale: 2 } };
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'csrf-test-0001' };
    // The browser's own cookies, no token; then a wrong token.
    const bare = await s.context.request.post(`${stack.url}/console/api/v1/payouts`, { data: body, headers });
    expect([bare.status(), (await bare.json()).title]).toEqual([403, 'CSRF check failed']);
    const wrong = await s.context.request.post(`${stack.url}/console/api/v1/payouts`, {
      data: body,
      headers: { ...headers, 'x-csrf-token': 'not-the-token' },
    });
    expect(wrong.status()).toBe(403);
    expect(await count()).toBe('0');
    // Sign-in itself needs the token of the form's cookie.
    const signin = await fetch(`${stack.url}/console/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ credential: token }),
    });
    expect(signin.status).toBe(403);

    const cookies = await s.context.cookies(`${stack.url}/console/`);
    const sessionCookie = cookies.find((c) => c.name === 'disburse_session')!;
    expect([sessionCookie.httpOnly, sessionCookie.sameSite]).toEqual([true, 'Strict']);
    expect(sessionCookie.value).not.toContain(token);
    expect(await s.page.content()).not.toContain(token);
    expect(await s.page.evaluate('document.cookie')).toBe('');
    const page = await fetch(`${stack.url}/console/`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  // Last: once the schedule exists, skipped time could close periods on their own.
  it('an operator reads the period-close schedule and pauses and resumes it with a note', async () => {
    await stack.periodSchedule.ensure();
    const op = await session();
    await signIn(op, stack.url, stack.keys.operator.key);
    await op.page.getByRole('link', { name: 'Periods' }).click();
    const panel = op.page.getByTestId('schedule');
    await panel
      .getByTestId('schedule-state')
      .getByText(/^Running — monthly periods in UTC, closed \d+ (days?|h|min) after they end$/)
      .waitFor();
    const next = panel.locator('tbody tr').first();
    await next.getByRole('link', { name: /^\d{4}-\d\d$/ }).waitFor();
    await panel.getByText('No period closed by the schedule yet.').waitFor();

    await panel.locator('input[name=note]').fill('holding closes while March is corrected');
    await panel.getByRole('button', { name: 'Pause automatic close' }).click();
    await panel.getByTestId('schedule-result').getByText('Paused').waitFor();
    await panel
      .getByTestId('schedule-state')
      .getByText(/^Paused: holding closes while March is corrected \(paused by olga\)/)
      .waitFor();
    await screenshot(op.page, 'operator-period-schedule');
    const held = stack.expectStatus(await stack.call('GET', '/v1/periods/schedule'), 200, 'schedule');
    expect(held.body.paused).toBe(true);

    await panel.locator('input[name=note]').fill('corrections done');
    await panel.getByRole('button', { name: 'Resume automatic close' }).click();
    await panel.getByTestId('schedule-result').getByText('Running again').waitFor();
    await panel
      .getByTestId('schedule-state')
      .getByText(/^Running/)
      .waitFor();

    // Approvers decide on periods; the schedule is not theirs to read.
    const approver = await stack.approver('sam');
    const ap = await session();
    await signIn(ap, stack.url, approver.key);
    await ap.page.getByRole('link', { name: 'Periods' }).click();
    await ap.page.locator('input[name=period]').waitFor();
    expect(await ap.page.getByTestId('schedule').count()).toBe(0);
  });
});
