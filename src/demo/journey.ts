// The first-user journey, step by step against the running instance: a payee with a bank account and instant
// opt-in, funded; an instant payout, a scheduled one, one above the approval threshold approved with TOTP;
// then each payout's workflow history. Every payout must end `paid`.
import { randomBytes } from 'node:crypto';
import { totp } from '../auth/totp.ts';
import { type DemoApi, DemoError, type Json, moneyText } from './api.ts';
import { follow } from './follow.ts';
import type { DemoKeys } from './keys.ts';

const usd = (minor: string) => ({ amount: minor, currency: 'USD', scale: 2 });

export interface JourneyOptions {
  /** How long each payout may take to reach the next state the demo waits for (ms). */
  waitMs: number;
  print: (line: string) => void;
}

interface Followed {
  label: string;
  id: string;
  payout: Json;
}

export async function runJourney(api: DemoApi, keys: DemoKeys, o: JourneyOptions): Promise<Followed[]> {
  const { print } = o;
  const platform = keys.platform.key;
  const suffix = randomBytes(4).toString('hex');

  print('\n2. Register a payee (KYC verified, W-9 on file, instant opt-in) with a bank account');
  const payee = await api.call(platform, 'POST', '/v1/payees', {
    externalId: `demo-${suffix}`,
    name: 'Dana Demo',
    email: `dana.${suffix}@example.com`,
    country: 'US',
    defaultCurrency: 'USD',
    kycStatus: 'verified',
    taxProfile: { form: 'w9', tin: '123456789' },
    payoutPreferences: { preferredMethod: 'bank_account', instantOptIn: true, autoPayout: false },
  });
  // A fresh account number per run: a destination shared with another payee is a risk flag.
  const accountNumber = `9${String(randomBytes(4).readUInt32BE(0)).padStart(10, '0')}`;
  await api.call(platform, 'PUT', `/v1/payees/${payee.id}/destinations/bank_account`, {
    accountNumber,
    routingNumber: '011000015',
    holderName: 'Dana Demo',
    country: 'US',
    currency: 'USD',
  });
  print(`   payee ${payee.id}, bank account ****${accountNumber.slice(-4)} (stored encrypted)`);

  print('\n3. Fund the wallet: credit earnings (POST /v1/payees/:id/credits)');
  await api.call(platform, 'POST', `/v1/payees/${payee.id}/credits`, {
    amount: usd('250000'),
    reference: `demo-earnings-${suffix}`,
    description: 'demo commission',
  });
  const wallet = await api.call(platform, 'GET', `/v1/payees/${payee.id}/wallet`);
  print(`   available ${moneyText(wallet.balances[0].available)}`);

  const request = async (amount: string, instant?: boolean) =>
    (
      await api.call(platform, 'POST', '/v1/payouts', {
        payeeId: payee.id,
        amount: usd(amount),
        method: 'bank_transfer',
        ...(instant === undefined ? {} : { instant }),
      })
    ).id as string;
  const followUntil = (id: string, until: string[], approvalExpected = false) =>
    follow(api, platform, id, {
      until,
      waitMs: o.waitMs,
      approvalExpected,
      onState: (p, ms) => print(`   ${`+${(ms / 1000).toFixed(1)}s`.padStart(7)}  ${stateLine(p)}`),
    });

  print('\n4. (a) Instant payout of USD 500.00');
  const instantId = await request('50000', true);
  print(`   payout ${instantId}`);
  const instant = await followUntil(instantId, ['paid']);

  print('\n5. (b) Scheduled payout of USD 400.00 (instant: false): paid in the next payout window');
  const scheduledId = await request('40000', false);
  print(`   payout ${scheduledId}`);
  await followUntil(scheduledId, ['scheduled', 'submitting', 'awaiting_confirmation', 'paid']);
  print('   (it waits for its window; meanwhile the next payout)');

  print('\n6. (c) Payout of USD 1,200.00: above the approval threshold (APPROVAL_THRESHOLD_SINGLE)');
  const approvalId = await request('120000');
  print(`   payout ${approvalId}`);
  const waiting = await followUntil(approvalId, ['pending_approval', 'paid'], true);
  if (waiting.state === 'paid') {
    throw new DemoError(
      `payout ${approvalId} was paid without an approval: APPROVAL_THRESHOLD_SINGLE is at least USD 1,200.00 on this instance (default USD:100000, i.e. 1,000.00)`,
    );
  }
  const code = totp(keys.approver.secret, Math.floor(Date.now() / 1000));
  print(
    `   approving as ${keys.approver.actor} with TOTP code ${code} (the code an authenticator shows; or: npm run auth:totp -- '${keys.approver.otpauthUri}')`,
  );
  if (waiting.approvalsRequired > 1) {
    throw new DemoError(
      `payout ${approvalId} needs ${waiting.approvalsRequired} approvers: USD 1,200.00 is above APPROVAL_THRESHOLD_DUAL here (default USD:1000000)`,
    );
  }
  await api.call(keys.approver.key, 'POST', `/v1/payouts/${approvalId}/approve`, {
    reason: 'demo: amount checked against the commission statement',
    totp: code,
  });
  const approved = await followUntil(approvalId, ['paid'], true);

  print(`\n7. (b) again: scheduled payout ${scheduledId}`);
  const scheduled = await followUntil(scheduledId, ['paid']);

  return [
    { label: 'instant', id: instantId, payout: instant },
    { label: 'scheduled', id: scheduledId, payout: scheduled },
    { label: 'approved', id: approvalId, payout: approved },
  ];
}

/** One line per state: the state and what matters in it. */
function stateLine(p: Json): string {
  switch (p.state) {
    case 'scheduled':
      return `scheduled${p.nextTimer ? ` — ${p.nextTimer.purpose} at ${p.nextTimer.at}` : ''}${p.rail ? ` (rail ${p.rail})` : ''}`;
    case 'pending_approval':
      return `pending_approval — needs ${p.approvalsRequired} approver(s)${
        p.reasons?.length ? `: ${p.reasons.map((r: { code: string }) => r.code).join(', ')}` : ''
      }${p.nextTimer ? `, ${p.nextTimer.purpose} at ${p.nextTimer.at}` : ''}`;
    case 'paid':
      return `paid — fee ${moneyText(p.fee)}, withholding ${moneyText(p.withholding)}, rail ${p.rail}, provider ${p.provider}`;
    default:
      return p.state;
  }
}

// Left out of the short list: the bookkeeping around each step (workflow tasks, activity starts, search
// attribute updates, patch markers). The endpoint returns them all.
const HIDDEN = /^(WorkflowTask|ActivityTaskStarted$|UpsertWorkflowSearchAttributes$)/;

/** Each payout's workflow history from GET /v1/payouts/:id/history, as a short list of its steps. */
export async function printHistories(api: DemoApi, keys: DemoKeys, payouts: Followed[], o: JourneyOptions) {
  const { print } = o;
  print("\n8. Each payout's workflow history (GET /v1/payouts/:id/history, operator key)");
  print('   (workflow tasks, activity starts, search attribute updates and patch markers left out)');
  for (const p of payouts) {
    const events: Json[] = [];
    let cursor: string | null = null;
    do {
      const page: Json = await api.call(
        keys.operator.key,
        'GET',
        `/v1/payouts/${p.id}/history?limit=200${cursor ? `&cursor=${cursor}` : ''}`,
      );
      events.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    const shown = events.filter((e) => !HIDDEN.test(e.type) && !e.detail.startsWith('patch '));
    print(`   ${p.label} payout ${p.id} (workflow payout-${p.id}): ${events.length} events; its steps:`);
    for (const e of shown)
      print(`     ${String(e.eventId).padStart(3)}  ${e.type}${e.detail ? `  ${e.detail}` : ''}`);
  }
}
