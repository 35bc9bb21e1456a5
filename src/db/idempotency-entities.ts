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
    /** Null while a leased claim is in flight (see `leaseUntil`). */
    responseStatus: p.integer().nullable(),
    responseBody: p.json<unknown>().nullable(),
    responseHeaders: p.json<Record<string, string>>(),
    createdAt: p.datetime(),
    /** Set while a leased claim is in flight: until then a duplicate is 409; after it, it may take over. */
    leaseUntil: p.datetime().nullable(),
  },
  primaryKeys: ['actor', 'key'],
});

export const apiEntities = [IdempotencyRecord];
