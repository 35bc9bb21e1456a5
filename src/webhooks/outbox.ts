// Outbound webhook outbox. Events are inserted in the same transaction as the state change they describe
// (so a webhook is only ever emitted for committed state) and delivered afterwards by `deliverWebhook`,
// which a Temporal activity calls; it throws on failure so the activity's retry policy retries it.
import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../db/identifiers.ts';
import type { Database } from '../db/open.ts';
import { sql } from '../db/sql.ts';
import { signWebhook } from './signing.ts';

export interface WebhookEvent {
  /** Stable id derived from the business event, e.g. `payout.paid:<payoutId>`. */
  id: string;
  /** Event type, e.g. `payout.paid`. */
  type: string;
  /** JSON-serialisable data; never destinations in clear. */
  data: Record<string, unknown>;
  occurredAt: Date;
}

export interface WebhookEndpoint {
  /** Set for endpoints managed over the API (webhook_endpoints); env endpoints are keyed by their URL. */
  id?: string;
  url: string;
  /** `whsec_<base64>`; several during a rotation. */
  secrets: string[];
}

/** `payout.paid` + `p_123` → `payout.paid:p_123`. Use a sub-key for events that can happen more than once. */
export function webhookEventId(type: string, subjectId: string, subKey?: string): string {
  return subKey === undefined ? `${type}:${subjectId}` : `${type}:${subjectId}:${subKey}`;
}

/** The bytes that are signed and POSTed (Standard Webhooks payload shape). */
export function webhookBody(event: { type: string; occurredAt: Date; data: unknown }): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt.toISOString(), data: event.data });
}

/** Thrown by deliverWebhook when an endpoint fails; retryable (the Temporal retry policy retries it). */
export class WebhookDeliveryError extends Error {
  readonly failures: { endpoint: string; status?: number; error: string }[];
  constructor(eventId: string, failures: { endpoint: string; status?: number; error: string }[]) {
    super(
      `webhook ${eventId} not delivered to ${failures.length} endpoint(s): ${failures
        .map((f) => `${f.endpoint} → ${f.error}`)
        .join('; ')}`,
    );
    this.name = 'WebhookDeliveryError';
    this.failures = failures;
  }
}

/** Thrown when the event id is not in the outbox (a programming error: do not retry). */
export class WebhookEventNotFoundError extends Error {
  constructor(eventId: string) {
    super(
      `webhook event ${eventId} is not in webhook_outbox: enqueue it (in the state-change transaction) first`,
    );
    this.name = 'WebhookEventNotFoundError';
  }
}

export interface OutboxRow {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  occurredAt: Date;
  deliveredAt: Date | null;
  attempts: number;
}

/** A webhook_outbox row as PostgreSQL returns it. */
interface OutboxDbRow {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  occurred_at: Date | string;
  delivered_at: Date | string | null;
  attempts: number;
}

function outboxRowOf(r: OutboxDbRow): OutboxRow {
  return {
    id: r.id,
    type: r.type,
    payload: r.payload,
    occurredAt: new Date(r.occurred_at),
    deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at),
    attempts: Number(r.attempts),
  };
}

export interface DeliveryAttempt {
  endpoint: string;
  /** The API-managed endpoint it went to; null for a WEBHOOK_ENDPOINTS one. */
  endpointId: string | null;
  durationMs: number;
  httpStatus: number | null;
  ok: boolean;
  error: string | null;
  attemptedAt: Date;
}

export interface WebhookOutboxOptions {
  db: Database;
  endpoints: readonly WebhookEndpoint[];
  /**
   * Endpoints managed over the API, resolved at each delivery (so a disable or rotation applies at once);
   * `anyEnabled`: an SQL condition, true while one is enabled (checked when an event is enqueued).
   */
  managed?: { active(): Promise<WebhookEndpoint[]>; readonly anyEnabled: string };
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class WebhookOutbox {
  readonly #db: Database;
  readonly #endpoints: readonly WebhookEndpoint[];
  readonly #managed: WebhookOutboxOptions['managed'];
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: WebhookOutboxOptions) {
    this.#db = options.db;
    this.#endpoints = options.endpoints;
    this.#managed = options.managed;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#fetch = options.fetch ?? fetch;
  }

  /** URLs of the WEBHOOK_ENDPOINTS endpoints (read-only; their secrets stay in the environment). */
  get configuredUrls(): string[] {
    return this.#endpoints.map((e) => e.url);
  }

  #table(name: string): string {
    return qualify(this.#db.schema, name);
  }

  /**
   * Inserts the event unless its id exists (idempotent). Pass the transaction's EntityManager so the
   * event commits with the state it describes. `inserted`: a row was inserted. `deliver`: someone is
   * subscribed, so deliverWebhook has work; with no endpoint configured or enabled the event is stored
   * delivered (to every endpoint: none), as a delivery would leave it, and no delivery step need run. An
   * endpoint enabled later gets the events from then on; earlier ones it can replay from the events API.
   */
  async enqueue(
    event: WebhookEvent,
    em: EntityManager = this.#db.em(),
  ): Promise<{ inserted: boolean; deliver: boolean }> {
    const { text, params } = this.enqueueStatement(event, 1);
    const rows = await sql<{ deliver: boolean }>(em, text, params);
    // Already there (a repeat): its delivery step decides, as before.
    return { inserted: rows.length === 1, deliver: rows[0]?.deliver ?? true };
  }

  /**
   * enqueue's INSERT, its parameters numbered from `$first`, for a caller that runs it inside its own
   * statement (a data-modifying CTE next to the state change it describes). It returns one row,
   * `deliver`, when inserted and none when the id exists: read it as enqueue does.
   */
  enqueueStatement(event: WebhookEvent, first: number): { text: string; params: unknown[] } {
    if (!event.id || /\s/.test(event.id))
      throw new Error(`webhook event id must be non-empty without spaces, got "${event.id}"`);
    const subscribed =
      this.#endpoints.length > 0 ? 'true' : this.#managed ? `(${this.#managed.anyEnabled})` : 'false';
    const $ = (i: number) => `$${first + i}`;
    // One statement: the subscription check rides on the insert.
    return {
      text: `INSERT INTO ${this.#table('webhook_outbox')} (id, type, payload, occurred_at, delivered_at)
       VALUES (${$(0)}, ${$(1)}, ${$(2)}::jsonb, ${$(3)}, CASE WHEN ${subscribed} THEN NULL ELSE now() END)
       ON CONFLICT (id) DO NOTHING RETURNING delivered_at IS NULL AS deliver`,
      params: [event.id, event.type, JSON.stringify(event.data), event.occurredAt.toISOString()],
    };
  }

  async get(eventId: string): Promise<OutboxRow | undefined> {
    const rows = await sql<OutboxDbRow>(
      this.#db.em(),
      `SELECT id, type, payload, occurred_at, delivered_at, attempts FROM ${this.#table('webhook_outbox')} WHERE id = $1`,
      [eventId],
    );
    return rows[0] && outboxRowOf(rows[0]);
  }

  async attempts(eventId: string): Promise<DeliveryAttempt[]> {
    return (await this.attemptPage(eventId, { limit: 1_000_000 })).items;
  }

  /** One page of an event's attempts, oldest first; `after` is the last attempt id of the previous page. */
  async attemptPage(
    eventId: string,
    o: { limit: number; after?: string | undefined },
  ): Promise<{ items: (DeliveryAttempt & { id: string })[]; nextCursor: string | null }> {
    const rows = await sql<{
      id: string;
      endpoint: string;
      endpoint_id: string | null;
      duration_ms: number;
      http_status: number | null;
      ok: boolean;
      error: string | null;
      attempted_at: Date | string;
    }>(
      this.#db.em(),
      `SELECT id::text, endpoint, endpoint_id, duration_ms, http_status, ok, error, attempted_at
       FROM ${this.#table('webhook_delivery_attempts')}
       WHERE event_id = $1 AND ($2::bigint IS NULL OR id > $2::bigint) ORDER BY id LIMIT $3`,
      [eventId, o.after ?? null, o.limit + 1],
    );
    const items = rows.slice(0, o.limit).map((r) => ({
      id: r.id,
      endpoint: r.endpoint,
      endpointId: r.endpoint_id,
      durationMs: Number(r.duration_ms),
      httpStatus: r.http_status,
      ok: r.ok,
      error: r.error,
      attemptedAt: new Date(r.attempted_at),
    }));
    return { items, nextCursor: rows.length > o.limit ? items[items.length - 1]!.id : null };
  }

  /**
   * Events newest first, optionally only those not yet delivered to every endpoint; keyset-paginated by
   * (created_at, id), `after` being the last id of the previous page.
   */
  async eventPage(o: { undelivered: boolean; limit: number; after?: string | undefined }): Promise<{
    items: OutboxRow[];
    nextCursor: string | null;
  }> {
    const t = this.#table('webhook_outbox');
    const rows = await sql<OutboxDbRow>(
      this.#db.em(),
      `SELECT id, type, payload, occurred_at, delivered_at, attempts FROM ${t} o
       WHERE (NOT $1 OR o.delivered_at IS NULL)
         AND ($2::text IS NULL OR (o.created_at, o.id) < (SELECT created_at, id FROM ${t} WHERE id = $2))
       ORDER BY o.created_at DESC, o.id DESC LIMIT $3`,
      [o.undelivered, o.after ?? null, o.limit + 1],
    );
    const items = rows.slice(0, o.limit).map(outboxRowOf);
    return { items, nextCursor: rows.length > o.limit ? items[items.length - 1]!.id : null };
  }

  /** Ids of events not yet delivered to every endpoint, oldest first (for a sweeper or an operator). */
  async undelivered(limit = 100): Promise<string[]> {
    const rows = await sql<{ id: string }>(
      this.#db.em(),
      `SELECT id FROM ${this.#table('webhook_outbox')} WHERE delivered_at IS NULL ORDER BY created_at, id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * POSTs the event to every configured endpoint that has not yet acknowledged it (2xx), recording each
   * attempt. Throws WebhookDeliveryError if any endpoint fails, after trying all of them, so a retry only
   * re-sends to the failed ones. Same `webhook-id` on every attempt; fresh timestamp and signature.
   */
  async deliverWebhook(eventId: string): Promise<{ delivered: string[]; alreadyDelivered: string[] }> {
    const event = await this.get(eventId);
    if (!event) throw new WebhookEventNotFoundError(eventId);
    const done = new Set(
      (
        await sql<{ endpoint: string }>(
          this.#db.em(),
          `SELECT DISTINCT coalesce(endpoint_id, endpoint) AS endpoint FROM ${this.#table('webhook_delivery_attempts')}
           WHERE event_id = $1 AND ok`,
          [eventId],
        )
      ).map((r) => r.endpoint),
    );
    const endpoints = [...this.#endpoints, ...((await this.#managed?.active()) ?? [])];
    const body = webhookBody({ type: event.type, occurredAt: event.occurredAt, data: event.payload });
    const delivered: string[] = [];
    const alreadyDelivered: string[] = [];
    const failures: { endpoint: string; status?: number; error: string }[] = [];
    for (const endpoint of endpoints) {
      if (done.has(endpoint.id ?? endpoint.url)) {
        alreadyDelivered.push(endpoint.url);
        continue;
      }
      const started = Date.now();
      let status: number | null = null;
      let error: string | null = null;
      try {
        const headers = signWebhook(endpoint.secrets, { id: event.id, body });
        const res = await this.#fetch(endpoint.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'disburse-webhooks/1', ...headers },
          body,
          signal: AbortSignal.timeout(this.#timeoutMs),
          redirect: 'manual',
        });
        status = res.status;
        await res.body?.cancel().catch(() => undefined);
        if (status < 200 || status >= 300) error = `HTTP ${status}`;
      } catch (err) {
        error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      await sql(
        this.#db.em(),
        `INSERT INTO ${this.#table('webhook_delivery_attempts')} (event_id, endpoint, endpoint_id, duration_ms, http_status, ok, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [eventId, endpoint.url, endpoint.id ?? null, Date.now() - started, status, error === null, error],
      );
      if (error === null) delivered.push(endpoint.url);
      else failures.push({ endpoint: endpoint.url, ...(status === null ? {} : { status }), error });
    }
    await sql(
      this.#db.em(),
      `UPDATE ${this.#table('webhook_outbox')}
       SET attempts = attempts + 1, delivered_at = CASE WHEN $2 THEN coalesce(delivered_at, now()) ELSE delivered_at END
       WHERE id = $1`,
      [eventId, failures.length === 0],
    );
    if (failures.length > 0) throw new WebhookDeliveryError(eventId, failures);
    return { delivered, alreadyDelivered };
  }
}
