import { defineEntity, p } from '@mikro-orm/postgresql';

/**
 * Read models of the ledger tables (created by src/db/migrations/0001-ledger.ts). Writes go through
 * `Ledger` (set-based SQL with row locks); these entities serve queries and reports.
 * bigint columns map to strings (exact minor units, never floats).
 */
export const LedgerAccount = defineEntity({
  name: 'LedgerAccount',
  tableName: 'ledger_accounts',
  properties: {
    id: p.bigint('string').primary(),
    kind: p.string(),
    owner: p.string(),
    currency: p.string(),
    balance: p.bigint('string'),
    createdAt: p.datetime(),
  },
});

export const LedgerTransaction = defineEntity({
  name: 'LedgerTransaction',
  tableName: 'ledger_transactions',
  properties: {
    id: p.bigint('string').primary(),
    type: p.string(),
    idempotencyKey: p.string().unique(),
    contentHash: p.string(),
    metadata: p.json<Record<string, unknown>>(),
    resolvesHoldId: p.bigint('string').nullable(),
    reversesId: p.bigint('string').nullable(),
    createdAt: p.datetime(),
  },
});

export const LedgerEntry = defineEntity({
  name: 'LedgerEntry',
  tableName: 'ledger_entries',
  properties: {
    id: p.bigint('string').primary(),
    transaction: () => p.manyToOne(LedgerTransaction),
    account: () => p.manyToOne(LedgerAccount),
    amount: p.bigint('string'),
  },
});

export const ledgerEntities = [LedgerAccount, LedgerTransaction, LedgerEntry];
