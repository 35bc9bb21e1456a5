// The approver inbox for a payout a risk rule held (not its amount): the rule's reason is why, the card
// says when it escalates and, once escalated, when it is rejected if still undecided; the approver approves.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Stack, startStack } from '../support/stack.ts';
import { openSession, type Session, screenshot, signIn } from './browser.ts';

describe('approver inbox: a risk hold', () => {
  let stack: Stack;
  let browser: Session | undefined;

  beforeAll(async () => {
    stack = await startStack('console_risk', {
      env: {
        APPROVAL_THRESHOLD_SINGLE: 'USD:100000',
        APPROVAL_THRESHOLD_DUAL: 'USD:1000000',
        // The second payout of a payee within 24 h is held for an approver.
        RISK_MAX_DAILY_COUNT: '1',
        APPROVAL_TIMEOUT: '1h',
        APPROVAL_ESCALATION_TIMEOUT: '2h',
      },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('shows the risk reason and the deadlines, and the approver approves it', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const first = await stack.requestPayout(payeeId, '1000');
    await stack.waitForState(first, ['awaiting_confirmation', 'paid']);
    const second = await stack.requestPayout(payeeId, '1500');
    await stack.waitForState(second, ['pending_approval']);

    const approver = await stack.approver('vera');
    browser = await openSession();
    await signIn(browser, stack.url, approver.key);
    const card = browser.page.locator(`[data-payout-id="${second}"]`);
    await card
      .getByTestId('why')
      .getByText('Why: velocity_count: 2 payouts in 24h exceeds the limit of 1')
      .waitFor();
    await card.getByTestId('approvals').getByText('Approvals 0 of 1').waitFor();
    await card
      .getByTestId('payout-timer')
      .getByText(/^Escalated if undecided at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \((\d+ (min|h)|no time) left\)$/)
      .waitFor();
    await screenshot(browser.page, 'approver-inbox-risk');

    // Past the approval timeout (virtual time): escalated, and the card says when it would be rejected.
    const held = await stack.gateway.status(second);
    const wait = Date.parse(held!.nextTimer!.at) - (await stack.temporal.currentTimeMs());
    await stack.temporal.sleep(Math.max(0, wait) + 1_000);
    let purpose = '';
    for (let i = 0; i < 50 && purpose !== 'approval_escalation_timeout'; i++) {
      purpose = (await stack.gateway.status(second))?.nextTimer?.purpose ?? '';
      if (purpose !== 'approval_escalation_timeout') await new Promise((r) => setTimeout(r, 100));
    }
    expect(purpose).toBe('approval_escalation_timeout');
    await browser.page.reload();
    const escalated = browser.page.locator(`[data-payout-id="${second}"]`);
    await escalated
      .getByTestId('payout-timer')
      .getByText(/^Rejected \(approval timeout\) if still undecided at \d{4}-/)
      .waitFor();

    await escalated.locator('input[name=reason]').fill('a second payout today is expected');
    await escalated.locator('input[name=totp]').fill(approver.code());
    await escalated.getByRole('button', { name: 'Approve' }).click();
    await escalated.getByText(/^Approved: the payout is now (?!pending_approval)/).waitFor();
    expect((await stack.call('GET', `/v1/payouts/${second}`)).body.approvals).toEqual([
      expect.objectContaining({ actor: 'vera', decision: 'approve' }),
    ]);
  });
});
