// Circle transfers carry no metadata and cannot be looked up by our idempotency key: an attempt is tied to
// its transfer by the transfer id once known (refs.transfer), else by a hash of what was sent (amount,
// currency, chain, address: refs.match, journalled before sending), among transfers no other attempt claims.
import { qualify } from '../../db/identifiers.ts';
import type { Database } from '../../db/open.ts';
import { sql } from '../../db/sql.ts';
import { requestHash } from '../shared/attempts.ts';

export const matchHash = (amount: string, currency: string, chain: string, address: string): string =>
  requestHash(['circle-transfer', amount, currency, chain, address.toLowerCase()]);

export class AttemptLookup {
  readonly #db: Database;
  readonly #provider: string;
  constructor(db: Database, provider: string) {
    this.#db = db;
    this.#provider = provider;
  }

  #t(): string {
    return qualify(this.#db.schema, 'provider_attempts');
  }

  /** The attempt key that recorded this transfer id. */
  async byTransfer(transferId: string): Promise<string | undefined> {
    const rows = await sql<{ k: string }>(
      this.#db.em(),
      `SELECT idempotency_key AS k FROM ${this.#t()} WHERE provider = $1 AND refs->>'transfer' = $2`,
      [this.#provider, transferId],
    );
    return rows[0]?.k;
  }

  /** Attempts still without a transfer id that sent exactly this (amount, currency, chain, address). */
  async unboundByMatch(hash: string): Promise<string[]> {
    const rows = await sql<{ k: string }>(
      this.#db.em(),
      `SELECT idempotency_key AS k FROM ${this.#t()}
        WHERE provider = $1 AND refs->>'match' = $2 AND NOT (refs ? 'transfer') AND state <> 'voided'
        ORDER BY created_at`,
      [this.#provider, hash],
    );
    return rows.map((r) => r.k);
  }

  /** Which of these transfer ids some attempt already claims. */
  async claimed(transferIds: readonly string[]): Promise<Set<string>> {
    if (transferIds.length === 0) return new Set();
    const rows = await sql<{ t: string }>(
      this.#db.em(),
      `SELECT refs->>'transfer' AS t FROM ${this.#t()} WHERE provider = $1 AND refs->>'transfer' = ANY($2)`,
      [this.#provider, [...transferIds]],
    );
    return new Set(rows.map((r) => r.t));
  }
}
