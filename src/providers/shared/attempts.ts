// The attempt journal of the real (remote) adapters: table provider_attempts (migration 0080). Before an
// adapter sends anything for an idempotency key, it records the key here under the key's lock, in the same
// transaction that refuses a voided key; cancel() voids a key only when no row exists. So a submission still
// in flight when the workflow fails over either was journalled (and is looked up at the provider) or is
// refused — the remote provider cannot be asked to void a key it has never seen. The row also keeps the
// provider's object ids (it has no lookup by our key) and a hash of what was asked, to refuse a reused key.
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../../db/identifiers.ts';
import type { Database } from '../../db/open.ts';
import { sql } from '../../db/sql.ts';
import { ProviderError } from '../errors.ts';
import { refuseVoidedKey, voidUnseenKey } from '../voided-keys.ts';

export interface AttemptRecord {
  provider: string;
  idempotencyKey: string;
  payoutId: string;
  requestHash: string;
  /** Provider object ids learned so far (e.g. { transfer: 'tr_…', payout: 'po_…', account: 'acct_…' }). */
  refs: Record<string, string>;
  /** Last state seen at the provider: submitting, pending, paid, failed, returned. */
  state: string;
  /** When the provider was first seen to have paid (a later failure of a paid payout is a return). */
  paidAt: Date | null;
  createdAt: Date;
}

interface Row {
  provider: string;
  idempotency_key: string;
  payout_id: string;
  request_hash: string;
  refs: Record<string, string>;
  state: string;
  paid_at: Date | string | null;
  created_at: Date | string;
}

const toRecord = (r: Row): AttemptRecord => ({
  provider: r.provider,
  idempotencyKey: r.idempotency_key,
  payoutId: r.payout_id,
  requestHash: r.request_hash,
  refs: r.refs ?? {},
  state: r.state,
  paidAt: r.paid_at === null ? null : new Date(r.paid_at),
  createdAt: new Date(r.created_at),
});

/** Stable hash of what a submission asks for (parts joined unambiguously); destinations never stored. */
export function requestHash(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p.length}:${p}`);
  return h.digest('base64url');
}

export class AttemptJournal {
  readonly #db: Database;
  readonly #provider: string;
  constructor(db: Database, provider: string) {
    this.#db = db;
    this.#provider = provider;
  }

  #t(): string {
    return qualify(this.#db.schema, 'provider_attempts');
  }

  async get(key: string, em: EntityManager = this.#db.em()): Promise<AttemptRecord | undefined> {
    const rows = await sql<Row>(
      em,
      `SELECT * FROM ${this.#t()} WHERE provider = $1 AND idempotency_key = $2`,
      [this.#provider, key],
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /**
   * Journals a submission before anything is sent: refuses a voided key, and a key used before for another
   * request (hard decline, nothing sent). Returns the record (new or the earlier one of this same request).
   */
  async begin(key: string, payoutId: string, hash: string): Promise<AttemptRecord> {
    return this.#db.em().transactional(async (tx) => {
      await refuseVoidedKey(tx, this.#db.schema, this.#provider, key);
      await sql(
        tx,
        `INSERT INTO ${this.#t()} (provider, idempotency_key, payout_id, request_hash)
         VALUES ($1, $2, $3, $4) ON CONFLICT (provider, idempotency_key) DO NOTHING`,
        [this.#provider, key, payoutId, hash],
      );
      const rec = (await this.get(key, tx))!;
      if (rec.payoutId !== payoutId || rec.requestHash !== hash) {
        throw new ProviderError(
          this.#provider,
          'hard_decline',
          'idempotency_key_reused',
          `idempotency key ${key} was used for payout ${rec.payoutId} with different parameters`,
        );
      }
      return rec;
    });
  }

  /** Merges provider ids and the state seen; the first `paid` stamps paidAt. */
  async note(key: string, o: { refs?: Record<string, string>; state?: string }): Promise<void> {
    await sql(
      this.#db.em(),
      `UPDATE ${this.#t()}
          SET refs = refs || $3::jsonb,
              state = coalesce($4, state),
              paid_at = CASE WHEN $4 = 'paid' AND paid_at IS NULL THEN now() ELSE paid_at END,
              updated_at = now()
        WHERE provider = $1 AND idempotency_key = $2`,
      [this.#provider, key, JSON.stringify(o.refs ?? {}), o.state ?? null],
    );
  }

  /** The attempt that recorded this provider object id under `ref` (e.g. the payout a reversal names). */
  async findByRef(ref: string, value: string): Promise<AttemptRecord | undefined> {
    const rows = await sql<Row>(
      this.#db.em(),
      `SELECT * FROM ${this.#t()} WHERE provider = $1 AND refs->>$2 = $3 LIMIT 1`,
      [this.#provider, ref, value],
    );
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** Voids `key` when nothing was journalled for it (see voided-keys.ts). true: it can never be submitted. */
  async voidIfUnseen(key: string): Promise<boolean> {
    return voidUnseenKey(
      this.#db.em(),
      this.#db.schema,
      this.#provider,
      key,
      async (tx) => (await this.get(key, tx)) !== undefined,
    );
  }
}
