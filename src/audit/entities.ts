import { defineEntity, p } from '@mikro-orm/postgresql';

/** Append-only audit trail of human actions; UPDATE/DELETE/TRUNCATE are refused by a trigger. */
export const AuditEntry = defineEntity({
  name: 'AuditEntry',
  tableName: 'audit_log',
  properties: {
    id: p.bigint('string').primary(),
    actor: p.string(),
    role: p.string(),
    action: p.string(),
    objectType: p.string(),
    objectId: p.string(),
    details: p.json<Record<string, unknown>>(),
    requestId: p.string().nullable(),
    at: p.datetime(),
  },
});

export const auditEntities = [AuditEntry];
