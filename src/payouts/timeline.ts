// What happened to a payout, as the console's timeline shows it: the webhook events it emitted (one per
// state change, with their delivery) and the audit entries of people's actions on it.
import type { EntityManager } from '@mikro-orm/postgresql';
import { listAudit } from '../audit/index.ts';
import { qualify } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';

export interface PayoutWebhookEvent {
  id: string;
  type: string;
  occurredAt: string;
  deliveredAt: string | null;
  attempts: number;
}

/** Oldest first, at most 500. */
export async function payoutWebhookEvents(
  em: EntityManager,
  schema: string,
  payoutId: string,
): Promise<PayoutWebhookEvent[]> {
  const rows = await sql<{
    id: string;
    type: string;
    occurred_at: Date;
    delivered_at: Date | null;
    attempts: number;
  }>(
    em,
    `SELECT id, type, occurred_at, delivered_at, attempts FROM ${qualify(schema, 'webhook_outbox')}
      WHERE payload->'payout'->>'payoutId' = $1 ORDER BY occurred_at, created_at LIMIT 500`,
    [payoutId],
  );
  return rows.map((r) => ({
    id: r.id,
    type: r.type,
    occurredAt: new Date(r.occurred_at).toISOString(),
    deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
    attempts: r.attempts,
  }));
}

export interface PayoutAuditEntry {
  at: string;
  actor: string;
  role: string;
  action: string;
  details: Record<string, unknown>;
}

/** Oldest first, at most 500. */
export async function payoutAuditEntries(em: EntityManager, payoutId: string): Promise<PayoutAuditEntry[]> {
  const rows = await listAudit(em, { objectType: 'payout', objectId: payoutId }, 500);
  return rows.map((r) => ({
    at: new Date(r.at).toISOString(),
    actor: r.actor,
    role: r.role,
    action: r.action,
    details: (r.details ?? {}) as Record<string, unknown>,
  }));
}
