// Audit trail of every human action (API keys and payee tokens), written in the caller's transaction so an
// action and its audit entry commit or roll back together.
import type { EntityManager } from '@mikro-orm/postgresql';
import { AuditEntry } from './entities.ts';

export interface AuditRecord {
  actor: string;
  role: string;
  /** Dotted verb, e.g. `payee.create`, `payout.approve`. */
  action: string;
  objectType: string;
  objectId: string;
  /** Never put destinations, secrets or codes here. */
  details?: Record<string, unknown>;
  requestId?: string | null;
  at?: Date;
}

export async function recordAudit(em: EntityManager, entry: AuditRecord): Promise<void> {
  em.create(AuditEntry, {
    actor: entry.actor,
    role: entry.role,
    action: entry.action,
    objectType: entry.objectType,
    objectId: entry.objectId,
    details: entry.details ?? {},
    requestId: entry.requestId ?? null,
    at: entry.at ?? new Date(),
  });
  await em.flush();
}

export async function listAudit(
  em: EntityManager,
  filter: { objectType?: string; objectId?: string; actor?: string } = {},
  limit = 100,
) {
  return em.find(AuditEntry, filter, { orderBy: { id: 'asc' }, limit });
}
