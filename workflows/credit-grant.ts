// One durable timer per promotional credit grant (id `credit-grant-<grantId>`): deliver credit.granted,
// sleep until the notice, send credit.expiring_soon, sleep until expiry, return the unspent remainder to
// the platform (credit.expired). The grant is started before its database transaction commits, so every
// activity tolerates a grant that never came to exist.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type {
  CreditGrantActivities,
  CreditGrantExpiry,
  CreditGrantTimerInput,
} from './credit-grant-contract.ts';

const acts = proxyActivities<CreditGrantActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m' },
});

// Webhook delivery keeps retrying for hours; it never holds up the expiry.
const webhooks = proxyActivities<Pick<CreditGrantActivities, 'deliverSpendbackWebhook'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '30m', maximumAttempts: 20 },
});

export async function creditGrantWorkflow(input: CreditGrantTimerInput): Promise<CreditGrantExpiry> {
  const deliveries: Promise<void>[] = [];
  const deliver = (eventId: string | null) => {
    if (eventId) deliveries.push(webhooks.deliverSpendbackWebhook({ eventId }).catch(() => undefined));
  };
  deliver(input.grantedEventId);
  const started = Date.now();
  const noticeIn = input.expiresInMs - input.noticeMs;
  if (input.noticeMs > 0 && noticeIn > 0) {
    await sleep(noticeIn);
    deliver((await acts.announceCreditExpiry({ grantId: input.grantId })).eventId);
  }
  const left = input.expiresInMs - (Date.now() - started);
  if (left > 0) await sleep(left);
  const expiry = await acts.expireCreditGrant({ grantId: input.grantId });
  deliver(expiry.eventId);
  await Promise.all(deliveries);
  return expiry;
}

/** Delivers one spendback webhook from the outbox, retrying until its transaction has committed. */
export async function spendbackWebhookWorkflow(input: { eventId: string }): Promise<void> {
  await webhooks.deliverSpendbackWebhook({ eventId: input.eventId });
}

/** Period close hook: evaluates the period's threshold rules once (idempotent per rule, payee, period). */
export async function spendbackPeriodTriggersWorkflow(input: {
  period: string;
}): Promise<{ payees: number; fired: number }> {
  return acts.evaluatePeriodTriggers({ period: input.period });
}
