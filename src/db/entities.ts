import { ledgerEntities } from '../ledger/entities.ts';

/** Every MikroORM entity of the application. Add an area's entities here. */
export const entities = [...ledgerEntities];
