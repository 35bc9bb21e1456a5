// A handler's audit entries, written in its own transaction, carry the caller and the request id.
import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../../audit/audit.ts';
import type { Principal } from '../../auth/principal.ts';
import type { AuditInput } from '../route.ts';

export function auditFor(em: EntityManager, principal: Principal | null, requestId: string) {
  return (entry: AuditInput) =>
    recordAudit(em, {
      ...entry,
      actor: principal?.actor ?? 'anonymous',
      role: principal?.role ?? 'anonymous',
      requestId,
    });
}
