// Voided idempotency keys of the built-in providers (table provider_voided_keys, migration 0071).
// Before the payout workflow fails over from an attempt the provider has no record of, it cancels the attempt's
// key. For a key the provider never saw, cancelling voids it: a submission with that key that arrives later
// (a request still in flight, a timed-out activity still running) is refused instead of paying a second time.
// Submit and void take the same per-key transaction lock, so exactly one of them wins.
// A provider that submits in ONE statement (the sandbox) takes the key lock inside that statement, after its
// snapshot was taken: a void that committed while the statement waited for the lock would be invisible to it.
// Such a provider passes `lockTable` (the table its submit statement inserts into): the void then takes that
// table in SHARE mode before the key lock, so a submit statement either finished before the void looked, or
// opens the table (and takes its snapshot) only after the void committed.
import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';
import { ProviderError } from './errors.ts';

/** Text of the key's transaction lock: `SELECT pg_advisory_xact_lock(hashtext(<this>))`. */
export function keyLockText(provider: string, key: string): string {
  return `provider-key:${provider}:${key}`;
}

async function lockKey(tx: EntityManager, provider: string, key: string): Promise<void> {
  await sql(tx, 'SELECT pg_advisory_xact_lock(hashtext($1))', [keyLockText(provider, key)]);
}

/** The hard decline a submission with a voided key gets (nothing is disbursed). */
export function voidedKeyError(provider: string, key: string): ProviderError {
  return new ProviderError(
    provider,
    'hard_decline',
    'idempotency_key_voided',
    `idempotency key ${key} was voided by a cancel before any submission arrived; nothing was disbursed`,
  );
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
  if (rows.length > 0) throw voidedKeyError(provider, key);
}

/**
 * Voids `key` unless the provider has recorded a submission for it (`recorded`, read under the key's lock).
 * true: voided (now or earlier), no submission with this key will ever be accepted.
 * `lockTable` (qualified name): taken IN SHARE MODE first, for providers that submit in one statement (see top).
 */
export async function voidUnseenKey(
  em: EntityManager,
  schema: string,
  provider: string,
  key: string,
  recorded: (tx: EntityManager) => Promise<boolean>,
  options: { lockTable?: string } = {},
): Promise<boolean> {
  return em.transactional(async (tx) => {
    if (options.lockTable) await sql(tx, `LOCK TABLE ${options.lockTable} IN SHARE MODE`);
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
