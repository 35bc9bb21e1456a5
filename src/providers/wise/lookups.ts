// Lookups of the Wise adapter in its attempt journal (provider_attempts, migration 0080), where other adapters
// only read by key: the attempt a transfer id belongs to (webhooks name only the transfer), and the Wise
// recipient already created for a destination. Destinations are never stored: the mapping is keyed by an
// HMAC of the recipient details under the instance's API token, so the table alone reveals nothing.
import { createHmac } from 'node:crypto';
import { qualify } from '../../db/identifiers.ts';
import type { Database } from '../../db/open.ts';
import { sql } from '../../db/sql.ts';
import type { Secret } from '../shared/secrets.ts';

export function recipientKeyOf(token: Secret, parts: readonly string[]): string {
  const h = createHmac('sha256', token.reveal());
  h.update('disburse:wise-recipient');
  for (const p of parts) h.update(`\u0000${p.length}:${p}`);
  return h.digest('base64url');
}

export class WiseLookups {
  readonly #db: Database;
  readonly #provider: string;
  constructor(db: Database, provider: string) {
    this.#db = db;
    this.#provider = provider;
  }

  #t(): string {
    return qualify(this.#db.schema, 'provider_attempts');
  }

  /** The attempt key whose transfer this is (undefined: not a transfer of this instance). */
  async keyOfTransfer(transferId: string): Promise<string | undefined> {
    const rows = await sql<{ idempotency_key: string }>(
      this.#db.em(),
      `SELECT idempotency_key FROM ${this.#t()} WHERE provider = $1 AND refs->>'transfer' = $2 LIMIT 1`,
      [this.#provider, transferId],
    );
    return rows[0]?.idempotency_key;
  }

  /** A recipient id created earlier for the same details (any attempt of this instance). */
  async recipientFor(recipientKey: string): Promise<string | undefined> {
    const rows = await sql<{ recipient: string }>(
      this.#db.em(),
      `SELECT refs->>'recipient' AS recipient FROM ${this.#t()}
        WHERE provider = $1 AND refs->>'recipientKey' = $2 AND refs->>'recipient' IS NOT NULL
        ORDER BY created_at DESC LIMIT 1`,
      [this.#provider, recipientKey],
    );
    return rows[0]?.recipient;
  }
}
