// Voided idempotency keys of the built-in providers (table provider_voided_keys, migration 0071).
// Before the payout workflow fails over from an attempt the provider has no record of, it cancels the attempt's
// key. For a key the provider never saw, cancelling voids it: a submission with that key that arrives later
// (a request still in flight, a timed-out activity still running) is refused instead of paying a second time.
// Submit and void take the same per-key transaction lock, so exactly one of them wins.
import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';
import { ProviderError } from './errors.ts';

async function lockKey(tx: EntityManager, provider: string, key: string): Promise<void> {
  await sql(tx, 'SELECT pg_advisory_xact_lock(hashtext($1))', [`provider-key:${provider}:${key}`]);
}

/**
 * Inside the submitting transaction, before the provider records the submission: takes the key's lock and
 * refuses a voided key (hard decline: nothing is disbursed).
 */
export async function refuseVoidedKey(
  tx: EntityManager,
  schema: string,
  provider: string,
  key: string,
): Promise<void> {
  await lockKey(tx, provider, key);
  const rows = await sql(
    tx,
    `SELECT 1 FROM ${qualify(schema, 'provider_voided_keys')} WHERE provider = $1 AND idempotency_key = $2`,
    [provider, key],
  );
  if (rows.length > 0) {
    throw new ProviderError(
      provider,
      'hard_decline',
      'idempotency_key_voided',
      `idempotency key ${key} was voided by a cancel before any submission arrived; nothing was disbursed`,
    );
  }
}

/**
 * Voids `key` unless the provider has recorded a submission for it (`recorded`, read under the key's lock).
 * true: voided (now or earlier), no submission with this key will ever be accepted.
 */
export async function voidUnseenKey(
  em: EntityManager,
  schema: string,
  provider: string,
  key: string,
  recorded: (tx: EntityManager) => Promise<boolean>,
): Promise<boolean> {
  return em.transactional(async (tx) => {
    await lockKey(tx, provider, key);
    if (await recorded(tx)) return false;
    await sql(
      tx,
      `INSERT INTO ${qualify(schema, 'provider_voided_keys')} (provider, idempotency_key) VALUES ($1, $2)
       ON CONFLICT DO NOTHING`,
      [provider, key],
    );
    return true;
  });
}
