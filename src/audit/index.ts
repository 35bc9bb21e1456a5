export type { AuditRecord } from './audit.ts';
export { listAudit, recordAudit } from './audit.ts';
export { AuditEntry, auditEntities } from './entities.ts';
