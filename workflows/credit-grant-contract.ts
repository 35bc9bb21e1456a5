// Contract of the credit grant expiry workflow (id `credit-grant-<grantId>`), shared by the workflow, its
// activities and the code that starts it. Types and pure helpers only.

export interface CreditGrantTimerInput {
  grantId: string;
  /** Time from the workflow's start to expiry (durations, not wall-clock instants, so time skipping is exact). */
  expiresInMs: number;
  /** The credit.expiring_soon notice is sent this long before expiry (skipped when it is already due). */
  noticeMs: number;
  /** Outbox event of the grant itself (credit.granted), delivered by this workflow. */
  grantedEventId: string;
}

export interface CreditGrantExpiry {
  grantId: string;
  /** 'expired' = remainder returned now; 'already_expired' = done before (replay); 'absent' = never committed. */
  outcome: 'expired' | 'already_expired' | 'absent';
  /** Unspent remainder returned to the platform (minor units as a string). */
  returned: string;
  eventId: string | null;
}

export interface CreditGrantActivities {
  /** Sends credit.expiring_soon (outbox) when something is left; returns the event id to deliver, or null. */
  announceCreditExpiry(input: { grantId: string }): Promise<{ eventId: string | null }>;
  /** Returns the unspent remainder to the platform and marks the grant expired (idempotent). */
  expireCreditGrant(input: { grantId: string }): Promise<CreditGrantExpiry>;
  /** Delivers one outbox event; retried while its transaction may not have committed yet. */
  deliverSpendbackWebhook(input: { eventId: string }): Promise<void>;
  /** Fires the earnings-threshold and discount rules for every payee with earnings in the period. */
  evaluatePeriodTriggers(input: { period: string }): Promise<{ payees: number; fired: number }>;
}

export function creditGrantWorkflowId(grantId: string): string {
  return `credit-grant-${grantId}`;
}

/** Delivery of a spendback.completed / spendback.refunded event (started with the request's transaction). */
export function spendbackWebhookWorkflowId(eventId: string): string {
  return `spendback-webhook-${eventId}`;
}

export function periodTriggersWorkflowId(period: string): string {
  return `spendback-triggers-${period}`;
}
