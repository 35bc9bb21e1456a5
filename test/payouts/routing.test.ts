// Routing, provider failover and provider-side events, end to end through HTTP, the worker and the sandbox.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowFailedError } from '@temporalio/client';
import { newPayoutFrom } from '../../src/payouts/service.ts';
import type { PayoutInput } from '../../src/payouts/state.ts';
import { PayoutStore } from '../../src/payouts/store.ts';
import { DEFAULT_SANDBOX_SCENARIO, listSandboxDisbursements } from '../../src/providers/index.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('payout routing and failover', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('routing', {
      env: { PAYOUT_PROVIDER_OUTAGE_RETRY: '5m', PAYOUT_PROVIDER_OUTAGE_DEADLINE: '2h' },
      providers: [
        { name: 'alpha', capabilities: { priority: 1 } },
        { name: 'beta', capabilities: { priority: 2 } },
      ],
    });
  });
  afterEach(async () => {
    for (const s of stack.services.providers.sandboxes()) s.setScenario(DEFAULT_SANDBOX_SCENARIO);
    await stack.assertInvariants();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const disbursements = (payoutId: string) => listSandboxDisbursements(stack.db, { payoutId });

  it('fails over to the next provider after a hard decline', async () => {
    stack.sandbox('alpha').setScenario({ declineRateBps: 10_000 });
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ['alpha', 'declined'],
      ['beta', 'paid'],
    ]);
    const rows = await disbursements(payoutId);
    expect(rows.map((r) => [r.provider, r.state])).toEqual(
      expect.arrayContaining([
        ['alpha', 'failed'],
        ['beta', 'paid'],
      ]),
    );
  });

  it('fails a payout with no destination at routing, releasing the hold, without asking any provider', async () => {
    // The API refuses such a request (422); a period's auto-payout or a bulk run can still start one.
    const payeeId = await stack.createPayee({ credit: '10000', bankAccount: null });
    const payoutId = 'po_nodestination0000000001';
    // Started as a fan-out starts it: the row first, then the workflow, which reads it.
    const input: PayoutInput = {
      payoutId,
      payeeId,
      amount: { amount: '5000', currency: 'USD', scale: 2 },
      method: 'bank_transfer',
      instantRequested: true,
      requestedBy: { actor: 'routing-test', role: 'platform' },
    };
    await new PayoutStore(stack.db.schema).insert(stack.db.em(), newPayoutFrom(input));
    await stack.gateway.start(input);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('failed');
    expect(final.attempts).toEqual([]);
    expect(final.reasons.map((r) => r.code)).toContain('no_destination');
    expect(await disbursements(payoutId)).toEqual([]);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances).toEqual([
      expect.objectContaining({ available: { amount: '10000', currency: 'USD', scale: 2 } }),
    ]);
  });

  it('skips a provider that reports an outage', async () => {
    stack.sandbox('alpha').setScenario({ outage: true });
    const payeeId = await stack.createPayee({ credit: '10000' });
    const final = await stack.result(await stack.requestPayout(payeeId, '5000'));
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => a.provider)).toEqual(['beta']);
  });

  it('a payout started without its row fails its workflow, saying so, with nothing held', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = 'po_norow00000000000000001';
    await stack.gateway.start({
      payoutId,
      payeeId,
      amount: { amount: '5000', currency: 'USD', scale: 2 },
      method: 'bank_transfer',
      instantRequested: true,
      requestedBy: { actor: 'routing-test', role: 'platform' },
    });
    // The test server skips the waits for the row; the deadline passes and the workflow fails visibly.
    const err = await stack.result(payoutId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toContain('has no row');
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0]).toMatchObject({ available: { amount: '10000' }, held: { amount: '0' } });
  });

  it('waits out an outage of every provider, then routes again and pays', async () => {
    for (const name of ['alpha', 'beta']) stack.sandbox(name).setScenario({ outage: true });
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    const waiting = await stack.waitForState(payoutId, ['scheduled']);
    expect(waiting.nextTimer?.purpose).toBe('provider_outage_retry');
    expect(waiting.reasons.map((r) => r.code)).toContain('providers_down');
    expect(waiting.attempts).toEqual([]);
    for (const name of ['alpha', 'beta']) stack.sandbox(name).setScenario(DEFAULT_SANDBOX_SCENARIO);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([['alpha', 'paid']]);
    expect((await disbursements(payoutId)).map((r) => r.state)).toEqual(['paid']);
  });

  it('gives up when every round ends in outages until the outage deadline, releasing the funds', async () => {
    // Destination ending 0002: every submission meets an outage although health says up.
    const payeeId = await stack.createPayee({
      credit: '10000',
      bankAccount: { accountNumber: '7700000002' },
    });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('failed');
    expect(final.reasons.at(-1)?.code).toBe('all_providers_failed');
    // Rounds of alpha then beta, 5 m, 10 m, 20 m, 40 m apart, then what is left of the 2 h deadline.
    expect(final.attempts.length).toBe(12);
    expect(final.attempts.every((a) => a.outcome === 'outage')).toBe(true);
    expect(final.attempts.map((a) => a.attemptNo)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(await disbursements(payoutId)).toEqual([]);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('10000');
  });

  it('resolves a timeout that actually paid by status check, without paying again elsewhere', async () => {
    // Destination ending 0003: the sandbox disburses, then the submit times out.
    const payeeId = await stack.createPayee({
      credit: '10000',
      bankAccount: { accountNumber: '7700000003' },
    });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts).toHaveLength(1);
    expect(final.attempts[0]).toMatchObject({ provider: 'alpha', outcome: 'paid' });
    const rows = await disbursements(payoutId);
    expect(rows.map((r) => [r.provider, r.state])).toEqual([['alpha', 'paid']]);
  });

  it('fails over only once a timed-out attempt is known not to have paid', async () => {
    // Destination ending 0004: the first submit of every key times out and records nothing.
    const payeeId = await stack.createPayee({
      credit: '10000',
      bankAccount: { accountNumber: '7700000004' },
    });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    const final = await stack.result(payoutId);
    // Both attempts came back unknown, were checked, found not to exist, and the funds were released.
    expect(final.state).toBe('failed');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ['alpha', 'not_paid'],
      ['beta', 'not_paid'],
    ]);
    // Each key was voided at its provider before moving on: a submission still in flight when the workflow
    // gave up (here: sent now, late) is refused and pays nothing.
    for (const a of final.attempts) expect(a.detail).toContain('voided');
    const late = stack.sandbox('alpha').submit({
      idempotencyKey: `${payoutId}:1`,
      payoutId,
      amount: { amount: '5000', currency: 'USD', scale: 2 },
      method: 'bank_transfer',
      rail: 'instant',
      destination: '7700000004',
      payee: { id: payeeId, country: 'US', name: 'Late Request' },
    });
    await expect(late).rejects.toMatchObject({ kind: 'hard_decline', code: 'idempotency_key_voided' });
    expect(await disbursements(payoutId)).toEqual([]);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('10000');
  });

  it('confirms a pending payout from its webhook, once, despite duplicate deliveries', async () => {
    stack.sandbox('alpha').setScenario({ instantConfirmation: 'webhook', duplicateWebhooks: true });
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    await stack.settleByWebhook(payoutId, 'alpha');
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts).toHaveLength(1);
    const history = await stack.handle(payoutId).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes);
    expect(signals.length).toBeGreaterThanOrEqual(2); // both deliveries reached the workflow…
    const settled = await stack.call('GET', `/v1/payouts/${payoutId}`);
    expect(settled.body.ledger.filter((l: { step: string }) => l.step === 'settle')).toHaveLength(1); // …one settle
  });

  it('ignores a provider event about an attempt that was sent to another provider', async () => {
    stack.sandbox('alpha').setScenario({ instantConfirmation: 'webhook', latencyMs: 1000 });
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    // beta (verified as beta) claims alpha's attempt failed: accepted, it would fail over and pay again.
    await stack.reportProviderEvent(payoutId, {
      provider: 'beta',
      attemptNo: 1,
      type: 'failed',
      reason: 'forged',
    });
    const after = await stack.gateway.status(payoutId);
    expect(after?.state).toBe('awaiting_confirmation');
    expect(after?.attempts).toEqual([expect.objectContaining({ provider: 'alpha', outcome: 'pending' })]);
    await stack.settleByWebhook(payoutId, 'alpha');
    const final = await stack.result(payoutId);
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([['alpha', 'paid']]);
    expect((await disbursements(payoutId)).map((r) => [r.provider, r.state])).toEqual([['alpha', 'paid']]);
  });

  it('flags for reconciliation a payment reported for an attempt already counted as not paid', async () => {
    stack.sandbox('alpha').setScenario({ declineRateBps: 10_000 });
    stack.sandbox('beta').setScenario({ instantConfirmation: 'webhook', latencyMs: 1000 });
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    await stack.waitForState(payoutId, ['awaiting_confirmation']);
    await stack.reportProviderEvent(payoutId, { provider: 'alpha', attemptNo: 1, type: 'paid' });
    const flagged = await stack.gateway.status(payoutId);
    expect(flagged?.reasons.at(-1)).toMatchObject({ code: 'reconcile_required' });
    expect(flagged?.reasons.at(-1)?.message).toContain('alpha reports attempt 1 paid');
    await stack.settleByWebhook(payoutId, 'beta', 2);
    // The report does not change what was counted: beta's payment settles once.
    const final = await stack.result(payoutId);
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ['alpha', 'declined'],
      ['beta', 'paid'],
    ]);
  });

  it('posts a return after payment back to the wallet', async () => {
    // Destination ending 0006: paid, then returned after returnAfterMs.
    stack.sandbox('alpha').setScenario({ returnAfterMs: 1000 });
    const payeeId = await stack.createPayee({
      credit: '10000',
      bankAccount: { accountNumber: '7700000006' },
    });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    // The workflow ends when the payout is final: paid. The return comes later, down the return path.
    expect((await stack.result(payoutId)).state).toBe('paid');
    const later = new Date(Date.now() + 5_000);
    await stack.sandbox('alpha').advance(later);
    await stack.sandbox('alpha').deliverPendingWebhooks(later);
    const res = await stack.call('GET', `/v1/payouts/${payoutId}`);
    expect(res.body.state).toBe('returned');
    expect(res.body.ledger.map((l: { step: string }) => l.step)).toEqual(['hold', 'settle', 'return']);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('10000');
  });

  it('pays only the destination it screened: a destination changed while scheduled fails the payout, sending nothing', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000', { instant: false });
    await stack.waitForState(payoutId, ['scheduled']);
    const changed = await stack.call('PUT', `/v1/payees/${payeeId}/destinations/bank_account`, {
      body: {
        accountNumber: '9900000000123',
        routingNumber: '011000015',
        holderName: 'Someone Else',
        country: 'US',
        currency: 'USD',
      },
    });
    expect(changed.status).toBe(200);
    const final = await stack.result(payoutId);
    expect(final.state).toBe('failed');
    expect(final.reasons.at(-1)).toMatchObject({ code: 'destination_changed' });
    expect(final.reasons.at(-1)?.message).not.toContain('9900000000123');
    expect(final.attempts).toEqual([expect.objectContaining({ provider: 'alpha', outcome: 'not_paid' })]);
    expect(await disbursements(payoutId)).toEqual([]);
    const wallet = await stack.call('GET', `/v1/payees/${payeeId}/wallet`);
    expect(wallet.body.balances[0].available.amount).toBe('10000');
    // A new payout is screened against the new destination and pays it.
    const again = await stack.requestPayout(payeeId, '5000');
    expect((await stack.result(again)).state).toBe('paid');
  });

  it('a destination change cannot undo a submission that already reached the provider: it is followed, not released', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000', { instant: false });
    await stack.waitForState(payoutId, ['scheduled']);
    // An earlier try of attempt 1 reached alpha and paid (its answer was lost), with the screened destination.
    const first = await stack.services.payouts.submitToProvider({
      payoutId,
      provider: 'alpha',
      attemptNo: 1,
      rail: 'instant',
    });
    expect(first.state).toBe('paid');
    const changed = await stack.call('PUT', `/v1/payees/${payeeId}/destinations/bank_account`, {
      body: {
        accountNumber: '9900000000456',
        routingNumber: '011000015',
        holderName: 'Someone Else',
        country: 'US',
        currency: 'USD',
      },
    });
    expect(changed.status).toBe(200);
    // The retry sees the change, finds the attempt paid at alpha, and settles instead of releasing the funds.
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([['alpha', 'paid']]);
    expect((await disbursements(payoutId)).map((r) => [r.provider, r.state])).toEqual([['alpha', 'paid']]);
  });

  it('schedules into the next payout window and pays on the batch rail', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '5000', { instant: false });
    const scheduled = await stack.waitForState(payoutId, ['scheduled']);
    expect(scheduled.rail).toBe('scheduled');
    expect(scheduled.nextTimer?.purpose).toBe('payout_window');
    expect(scheduled.fee).toBeUndefined(); // no instant fee on the scheduled rail
    // The batch rail settles whenever the operator's batch runs, while virtual time skips to the window.
    const final = await stack.resultWithBatches(payoutId, 'alpha');
    expect(final.state).toBe('paid');
    const rows = await disbursements(payoutId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ rail: 'batch', state: 'paid', amountMinor: 5000n });
  });
});
