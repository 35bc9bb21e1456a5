// Webhook endpoints managed over the API (operator). Each has its own `whsec_` secret, stored as a keyring
// envelope (like destinations) and shown in clear only when created or rotated. A rotation keeps the
// previous secret signing for a grace period, so receivers can switch without dropping a delivery.
// Delivery resolves the enabled endpoints at each attempt (WebhookOutbox), so a disable or a rotation takes
// effect on the next attempt without touching the delivery workflows.
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { decrypt, encrypt, type Keyring } from '../crypto/index.ts';
import { qualify } from '../db/identifiers.ts';
import type { Database } from '../db/open.ts';
import { sql } from '../db/sql.ts';
import type { WebhookEndpoint } from './outbox.ts';
import { generateWebhookSecret } from './signing.ts';

export const WEBHOOK_ENDPOINT_ID = /^we_[0-9a-f]{24}$/;
/** How long the previous secret keeps signing after a rotation, unless the operator says otherwise. */
export const DEFAULT_ROTATION_GRACE_MS = 24 * 3600_000;

export interface StoredWebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  status: 'enabled' | 'disabled';
  createdBy: string;
  createdAt: Date;
  rotatedAt: Date | null;
  disabledAt: Date | null;
  /** Until when the previous secret still signs (null: no rotation in progress). */
  previousSecretExpiresAt: Date | null;
}

interface Row {
  id: string;
  url: string;
  description: string | null;
  status: 'enabled' | 'disabled';
  secret_ciphertext: string;
  previous_secret_ciphertext: string | null;
  previous_secret_expires_at: Date | string | null;
  created_by: string;
  created_at: Date | string;
  rotated_at: Date | string | null;
  disabled_at: Date | string | null;
}

const date = (v: Date | string | null) => (v === null ? null : new Date(v));

export class WebhookEndpointNotFoundError extends Error {
  constructor(id: string) {
    super(`webhook endpoint ${id} does not exist`);
    this.name = 'WebhookEndpointNotFoundError';
  }
}

export class WebhookEndpointStore {
  readonly #db: Database;
  readonly #keyring: Keyring;
  readonly #now: () => Date;

  constructor(o: { db: Database; keyring: Keyring; now?: () => Date }) {
    this.#db = o.db;
    this.#keyring = o.keyring;
    this.#now = o.now ?? (() => new Date());
  }

  get #table(): string {
    return qualify(this.#db.schema, 'webhook_endpoints');
  }

  /** SQL that is true while an endpoint is enabled: the outbox asks it with each event it stores. */
  get anyEnabled(): string {
    return `EXISTS (SELECT 1 FROM ${this.#table} WHERE status = 'enabled')`;
  }

  #view(r: Row, now: Date): StoredWebhookEndpoint {
    const previousUntil = date(r.previous_secret_expires_at);
    return {
      id: r.id,
      url: r.url,
      description: r.description,
      status: r.status,
      createdBy: r.created_by,
      createdAt: new Date(r.created_at),
      rotatedAt: date(r.rotated_at),
      disabledAt: date(r.disabled_at),
      previousSecretExpiresAt: previousUntil && previousUntil > now ? previousUntil : null,
    };
  }

  /** Returns the endpoint and its secret, the only time the secret is readable. */
  async create(
    em: EntityManager,
    input: { url: string; description?: string | undefined; actor: string },
  ): Promise<{ endpoint: StoredWebhookEndpoint; secret: string }> {
    const id = `we_${randomBytes(12).toString('hex')}`;
    const secret = generateWebhookSecret();
    const rows = await sql<Row>(
      em,
      `INSERT INTO ${this.#table} (id, url, description, status, secret_ciphertext, created_by, created_at)
       VALUES ($1, $2, $3, 'enabled', $4, $5, $6) RETURNING *`,
      [
        id,
        input.url,
        input.description ?? null,
        encrypt(this.#keyring, secret, id),
        input.actor,
        this.#now(),
      ],
    );
    return { endpoint: this.#view(rows[0]!, this.#now()), secret };
  }

  async get(id: string, em: EntityManager = this.#db.em()): Promise<StoredWebhookEndpoint | undefined> {
    const rows = await sql<Row>(em, `SELECT * FROM ${this.#table} WHERE id = $1`, [id]);
    return rows[0] ? this.#view(rows[0], this.#now()) : undefined;
  }

  /** Oldest first, keyset-paginated by (created_at, id); `after` is the last id of the previous page. */
  async list(o: { limit: number; after?: string | undefined }): Promise<{
    items: StoredWebhookEndpoint[];
    nextCursor: string | null;
  }> {
    const rows = await sql<Row>(
      this.#db.em(),
      `SELECT * FROM ${this.#table} e
       WHERE $1::text IS NULL OR (e.created_at, e.id) > (SELECT created_at, id FROM ${this.#table} WHERE id = $1)
       ORDER BY e.created_at, e.id LIMIT $2`,
      [o.after ?? null, o.limit + 1],
    );
    const now = this.#now();
    const items = rows.slice(0, o.limit).map((r) => this.#view(r, now));
    return { items, nextCursor: rows.length > o.limit ? items[items.length - 1]!.id : null };
  }

  /** Stops deliveries from the next attempt on. Idempotent: disabling a disabled endpoint changes nothing. */
  async disable(
    em: EntityManager,
    id: string,
  ): Promise<{ endpoint: StoredWebhookEndpoint; changed: boolean }> {
    const rows = await sql<Row>(
      em,
      `UPDATE ${this.#table} SET status = 'disabled', disabled_at = $2 WHERE id = $1 AND status = 'enabled' RETURNING *`,
      [id, this.#now()],
    );
    if (rows[0]) return { endpoint: this.#view(rows[0], this.#now()), changed: true };
    const existing = await this.get(id, em);
    if (!existing) throw new WebhookEndpointNotFoundError(id);
    return { endpoint: existing, changed: false };
  }

  /**
   * A new secret signs from now on; the current one keeps signing for `graceMs` (0: at once retired).
   * A rotation during a rotation retires the oldest secret immediately.
   */
  async rotate(
    em: EntityManager,
    id: string,
    graceMs: number = DEFAULT_ROTATION_GRACE_MS,
  ): Promise<{ endpoint: StoredWebhookEndpoint; secret: string }> {
    const secret = generateWebhookSecret();
    const now = this.#now();
    const rows = await sql<Row>(
      em,
      `UPDATE ${this.#table}
       SET previous_secret_ciphertext = CASE WHEN $4::bigint > 0 THEN secret_ciphertext END,
           previous_secret_expires_at = CASE WHEN $4::bigint > 0 THEN $3::timestamptz + make_interval(secs => $4::bigint / 1000.0) END,
           secret_ciphertext = $2, rotated_at = $3
       WHERE id = $1 RETURNING *`,
      [id, encrypt(this.#keyring, secret, id), now, graceMs],
    );
    if (!rows[0]) throw new WebhookEndpointNotFoundError(id);
    return { endpoint: this.#view(rows[0], now), secret };
  }

  /** The enabled endpoints with every secret that signs now (current first), for one delivery attempt. */
  async active(): Promise<WebhookEndpoint[]> {
    const rows = await sql<Row>(
      this.#db.em(),
      `SELECT * FROM ${this.#table} WHERE status = 'enabled' ORDER BY created_at, id`,
    );
    const now = this.#now();
    return rows.map((r) => {
      const secrets = [decrypt(this.#keyring, r.secret_ciphertext, r.id)];
      const until = date(r.previous_secret_expires_at);
      if (r.previous_secret_ciphertext && until && until > now) {
        secrets.push(decrypt(this.#keyring, r.previous_secret_ciphertext, r.id));
      }
      return { id: r.id, url: r.url, secrets };
    });
  }
}
