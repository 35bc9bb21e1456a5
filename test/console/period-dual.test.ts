// A period above the dual-control threshold in the console: two approvers, each in their own session with
// TOTP; the inbox and the period page say who approved already, and the same approver twice is refused.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Stack, startStack } from '../support/stack.ts';
import { openSession, type Session, screenshot, signIn } from './browser.ts';

describe('period approval under dual control', () => {
  let stack: Stack;
  const sessions: Session[] = [];
  const periodId = '2026-05';

  beforeAll(async () => {
    stack = await startStack('console_period_dual', {
      env: {
        // Any run of 10.00 USD or more needs two approvers.
        PERIOD_DUAL_CONTROL_THRESHOLD: 'USD:1000',
        PERIOD_APPROVAL_REMINDER: '1h',
        PERIOD_APPROVAL_ESCALATION: '2h',
      },
    });
  });
  afterAll(async () => {
    for (const s of sessions) await s.close();
    await stack?.close();
  });

  it('two approvers approve the run from two sessions; the first cannot approve twice', async () => {
    const payeeId = await stack.createPayee();
    const sale = {
      externalId: `console-dual-sale-${payeeId}`,
      payeeId,
      type: 'sale',
      amount: { amount: '20000', currency: 'USD', scale: 2 },
      occurredAt: '2026-05-10T10:00:00Z',
      volume: 200,
    };
    stack.expectStatus(await stack.call('POST', '/v1/earnings', { body: { events: [sale] } }), 200, 'sale');
    await stack.closePeriod(periodId, { key: stack.keys.operator.key });
    await stack.waitForPeriod(periodId, (p) => p.stage === 'awaiting_approval');

    const ann = await stack.approver('ann-periods');
    const bob = await stack.approver('bob-periods');
    const first = await openSession();
    sessions.push(first);
    await signIn(first, stack.url, ann.key);
    const card = first.page.locator(`[data-period-id="${periodId}"]`);
    await card.getByTestId('approvals').getByText('Approvals 0 of 2').waitFor();
    await card.getByRole('link', { name: 'Review the progress and decide' }).click();
    await first.page.locator('input[name=reason]').fill('statements checked');
    await first.page.locator('input[name=totp]').fill(ann.code());
    await first.page.getByRole('button', { name: 'Approve period' }).click();
    await first.page
      .getByTestId('period-result')
      .getByText('Approved: stage awaiting_approval, approvals 1 of 2')
      .waitFor();
    await first.page.getByText(/approvals 1 of 2 \(ann-periods\)/).waitFor();
    // Again, the same person: the workflow refuses, and the page shows its reason.
    await first.page.locator('input[name=totp]').fill(ann.code());
    await first.page.getByRole('button', { name: 'Approve period' }).click();
    await first.page
      .getByTestId('period-result')
      .getByText(
        /^Refused: ann-periods has already decided run 1; a second approver must be a different person$/,
      )
      .waitFor();
    await first.page.goto(`${stack.url}/console/#/inbox`);
    await first.page
      .locator(`[data-period-id="${periodId}"]`)
      .getByTestId('approvals')
      .getByText('Approvals 1 of 2 — approved by ann-periods — not yours to decide', { exact: false })
      .waitFor();

    const second = await openSession();
    sessions.push(second);
    await signIn(second, stack.url, bob.key);
    const bobs = second.page.locator(`[data-period-id="${periodId}"]`);
    await bobs.getByTestId('approvals').getByText('Approvals 1 of 2 — approved by ann-periods').waitFor();
    await screenshot(second.page, 'approver-inbox-period-dual');
    await bobs.getByRole('link', { name: 'Review the progress and decide' }).click();
    await second.page.locator('input[name=reason]').fill('second pair of eyes');
    await second.page.locator('input[name=totp]').fill(bob.code());
    await second.page.getByRole('button', { name: 'Approve period' }).click();
    await second.page
      .getByTestId('period-result')
      .getByText(/^Approved: stage \w+, approvals 2 of 2$/)
      .waitFor();
    // With both approvals the run is released: the page follows it to the posted batches.
    await second.page
      .getByTestId('posted')
      .getByText(/^Batches posted: ([1-9]\d*) of \1$/)
      .waitFor();
    await stack.waitForPeriod(periodId, (p) => p.stage === 'completed');
    const progress = (await stack.call('GET', `/v1/periods/${periodId}`)).body;
    expect(
      progress.approvals.map((a: { actor: string; decision: string }) => `${a.actor}:${a.decision}`),
    ).toEqual(['ann-periods:approve', 'bob-periods:approve']);
  });
});
