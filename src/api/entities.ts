import { defineEntity, p } from '@mikro-orm/postgresql';

/** Stored responses of POST requests, keyed by caller + Idempotency-Key (see idempotency.ts). */
export const IdempotencyRecord = defineEntity({
  name: 'IdempotencyRecord',
  tableName: 'idempotency_keys',
  properties: {
    actor: p.string().primary(),
    key: p.string().primary(),
    requestHash: p.string(),
    method: p.string(),
    path: p.string(),
    responseStatus: p.integer(),
    responseBody: p.json<unknown>().nullable(),
    responseHeaders: p.json<Record<string, string>>(),
    createdAt: p.datetime(),
  },
  primaryKeys: ['actor', 'key'],
});

export const apiEntities = [IdempotencyRecord];
