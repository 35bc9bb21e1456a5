import { auditEntities } from '../audit/entities.ts';
import { authEntities } from '../auth/entities.ts';
import { ledgerEntities } from '../ledger/entities.ts';
import { payeeEntities } from '../payees/entities.ts';
import { apiEntities } from './idempotency-entities.ts';

/** Every MikroORM entity of the application. Add an area's entities here. */
export const entities = [
  ...ledgerEntities,
  ...apiEntities,
  ...authEntities,
  ...auditEntities,
  ...payeeEntities,
];
