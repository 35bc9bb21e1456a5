// The sandbox payout provider: a deterministic simulator of instant and batch rails that records every
// disbursement in PostgreSQL. See README.md in this folder for behaviours, magic values and the control API.
import { setTimeout as sleep } from 'node:timers/promises';
import type { EntityManager } from '@mikro-orm/postgresql';
import { mask } from '../../crypto/mask.ts';
import { qualify } from '../../db/identifiers.ts';
import type { Database } from '../../db/open.ts';
import { sql } from '../../db/sql.ts';
import { signWebhook, verifyWebhook } from '../../webhooks/signing.ts';
import { assertSubmittable, defaultCapabilities } from '../capabilities.ts';
import { ProviderError, WebhookVerificationError } from '../errors.ts';
import type {
  CancelResult,
  PayoutProvider,
  ProviderCapabilities,
  ProviderEvent,
  ProviderEventType,
  ProviderHealth,
  ProviderStatus,
  SubmitRequest,
  SubmitResult,
  WebhookHeaders,
} from '../types.ts';
import { keyLockText, voidedKeyError, voidUnseenKey } from '../voided-keys.ts';
import {
  DEFAULT_SANDBOX_SCENARIO,
  decideBehaviour,
  type SandboxBehaviour,
  type SandboxScenario,
} from './scenario.ts';
import { type DisbursementRow, type SandboxDisbursement, toDisbursement } from './store.ts';

export interface SandboxProviderOptions {
  name: string;
  db: Database;
  scenario?: Partial<SandboxScenario>;
  capabilities?: Partial<ProviderCapabilities>;
  /** Where to POST provider events, signed with `secret` (Standard Webhooks headers). */
  webhook?: { url: string; secret: string };
  /** Secret parseWebhook verifies against (defaults to webhook.secret). */
  webhookSecret?: string;
  /** Time source; tests pass a controllable clock. */
  clock?: () => Date;
  fetch?: typeof fetch;
}

export interface SandboxEvent {
  eventId: string;
  idempotencyKey: string;
  payoutId: string;
  type: ProviderEventType;
  reason: string | null;
  occurredAt: Date;
  deliveredAt: Date | null;
  attempts: number;
}

const RETRYABLE_THEN_PAY_FAILURES = 2;

export class SandboxProvider implements PayoutProvider {
  readonly name: string;
  readonly #db: Database;
  #scenario: SandboxScenario;
  readonly #capabilities: ProviderCapabilities;
  #webhook: { url: string; secret: string } | undefined;
  #webhookSecret: string | undefined;
  readonly #clock: () => Date;
  readonly #fetch: typeof fetch;
  readonly #timers = new Set<NodeJS.Timeout>();
  #interval: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #tickAgain = false;
  #stopped = false;
  /** Last error of a background tick (timers never throw into the process). */
  lastBackgroundError: Error | undefined;

  constructor(options: SandboxProviderOptions) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(options.name)) {
      throw new Error(
        `sandbox provider name must be lower-case letters, digits, _ or - (got "${options.name}")`,
      );
    }
    this.name = options.name;
    this.#db = options.db;
    this.#scenario = { ...DEFAULT_SANDBOX_SCENARIO, ...options.scenario };
    this.#capabilities = defaultCapabilities(options.capabilities);
    this.#webhook = options.webhook;
    this.#webhookSecret = options.webhookSecret ?? options.webhook?.secret;
    this.#clock = options.clock ?? (() => new Date());
    this.#fetch = options.fetch ?? fetch;
  }

  #t(table: string): string {
    return qualify(this.#db.schema, table);
  }

  capabilities(): ProviderCapabilities {
    return this.#capabilities;
  }

  async health(): Promise<ProviderHealth> {
    return this.#scenario.outage ? { status: 'down', detail: 'sandbox outage scenario' } : { status: 'up' };
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const amountMinor = assertSubmittable(this.name, this.#capabilities, req);
    const scenario = this.#scenario;
    if (scenario.latencyMs > 0) await sleep(scenario.latencyMs);

    const behaviour = decideBehaviour(scenario, {
      idempotencyKey: req.idempotencyKey,
      destination: req.destination,
      amountMinor,
    });
    const failFirst =
      scenario.retryableFailures +
      (behaviour === 'retryable_then_pay' ? RETRYABLE_THEN_PAY_FAILURES : 0) +
      (behaviour === 'timeout_lost' ? 1 : 0);
    if (behaviour === 'outage' || failFirst > 0) {
      // Rare path: a recorded key is replayed even in an outage or while failures are due, so look first.
      const existing = await this.#find(this.#db.em(), req.idempotencyKey);
      if (existing) return this.#replay(existing, req, amountMinor);
    }
    if (behaviour === 'outage') {
      throw new ProviderError(this.name, 'outage', 'provider_unavailable', 'sandbox provider is unavailable');
    }
    if (failFirst > 0) {
      const attempt = await this.#countAttempt(req.idempotencyKey);
      if (attempt <= failFirst) {
        if (behaviour === 'timeout_lost' && attempt === failFirst) {
          // The request never reached the "bank": nothing recorded, status() says not_found.
          throw new ProviderError(
            this.name,
            'timeout',
            'gateway_timeout',
            'no answer from the sandbox rail (lost)',
          );
        }
        throw new ProviderError(
          this.name,
          'retryable',
          'temporarily_unavailable',
          `transient sandbox error (attempt ${attempt})`,
        );
      }
    }

    const now = this.#clock();
    const providerRef = `${this.name}_${req.idempotencyKey}`;
    let state: 'pending' | 'paid' | 'failed' = 'paid';
    let planned: 'paid' | 'failed' | 'never' = 'paid';
    let reason: string | null = null;
    let settleAt: Date | null = null;
    if (behaviour === 'decline') {
      state = 'failed';
      planned = 'failed';
      reason = 'declined: account_closed';
    } else if (behaviour === 'pending_forever') {
      state = 'pending';
      planned = 'never';
    } else if (req.rail === 'batch') {
      state = 'pending';
      planned = behaviour === 'pending_then_fail' ? 'failed' : 'paid';
    } else if (behaviour === 'pending_then_fail' || scenario.instantConfirmation === 'webhook') {
      state = 'pending';
      planned = behaviour === 'pending_then_fail' ? 'failed' : 'paid';
      settleAt = new Date(now.getTime() + scenario.latencyMs);
    }
    const returnAt =
      state === 'paid' && behaviour === 'pay_then_return'
        ? new Date(now.getTime() + scenario.returnAfterMs)
        : null;

    const recorded = await this.#record(req, amountMinor, {
      providerRef,
      behaviour,
      state,
      planned,
      reason,
      settleAt,
      returnAt,
      now,
    });
    if (recorded === 'voided') throw voidedKeyError(this.name, req.idempotencyKey);
    if (recorded === 'exists') {
      // The key was recorded before (a retry), or a concurrent submit with it won the insert.
      const winner = await this.#find(this.#db.em(), req.idempotencyKey);
      if (!winner) throw new ProviderError(this.name, 'retryable', 'conflict', 'concurrent submit, retry');
      return this.#replay(winner, req, amountMinor);
    }
    if (settleAt) this.#wakeAt(settleAt);
    if (returnAt) this.#wakeAt(returnAt);
    if (state === 'paid' && this.#webhook) this.#wakeAt(now); // deliver the paid webhook

    if (state === 'failed')
      throw new ProviderError(this.name, 'hard_decline', 'account_closed', 'payee account closed');
    if (behaviour === 'timeout_paid') {
      // The disbursement is recorded (money moved) but the caller never hears about it.
      throw new ProviderError(
        this.name,
        'timeout',
        'gateway_timeout',
        'no answer from the sandbox rail in time',
      );
    }
    return { state, providerRef };
  }

  #replay(row: SandboxDisbursement, req: SubmitRequest, amountMinor: bigint): SubmitResult {
    if (
      row.payoutId !== req.payoutId ||
      row.amountMinor !== amountMinor ||
      row.currency !== req.amount.currency
    ) {
      throw new ProviderError(
        this.name,
        'hard_decline',
        'idempotency_key_reused',
        `idempotency key ${req.idempotencyKey} was used for payout ${row.payoutId} with different parameters`,
      );
    }
    if (row.state === 'failed') {
      throw new ProviderError(this.name, 'hard_decline', 'already_failed', row.reason ?? 'payout failed');
    }
    return { state: row.state === 'pending' ? 'pending' : 'paid', providerRef: row.providerRef };
  }

  /**
   * Records a first submission in ONE autocommit statement: takes the key's lock (the one voidUnseenKey takes),
   * then refuses a voided key, inserts the disbursement unless the key is recorded, and its paid event when
   * it was inserted paid. Each step reads the previous one's output (MATERIALIZED CTEs), so the lock is held
   * before the voided key is looked at; the lock lasts until the statement's implicit commit. The statement
   * took its snapshot before it waited for the lock, so a void committed meanwhile would be invisible here:
   * cancel() voids with `lockTable` (SHARE on sandbox_disbursements), which this statement's INSERT waits for
   * before its snapshot. An existing row shows up as a conflict (never through the snapshot).
   */
  async #record(
    req: SubmitRequest,
    amountMinor: bigint,
    d: {
      providerRef: string;
      behaviour: SandboxBehaviour;
      state: 'pending' | 'paid' | 'failed';
      planned: 'paid' | 'failed' | 'never';
      reason: string | null;
      settleAt: Date | null;
      returnAt: Date | null;
      now: Date;
    },
  ): Promise<'inserted' | 'voided' | 'exists'> {
    const rows = await sql<{ voided: boolean; inserted: boolean }>(
      this.#db.em(),
      `WITH locked AS MATERIALIZED (
         SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(hashtext($1))) l
       ), voided AS MATERIALIZED (
         SELECT EXISTS (
           SELECT 1 FROM ${this.#t('provider_voided_keys')} v
           WHERE v.provider = $2 AND v.idempotency_key = $3 AND locked.locked = 1
         ) AS voided
         FROM locked
       ), ins AS (
         INSERT INTO ${this.#t('sandbox_disbursements')}
           (provider, idempotency_key, payout_id, amount_minor, currency, scale, method, rail, payee_id,
            destination_masked, provider_ref, scenario, state, planned_outcome, reason, settle_at, return_at,
            created_at, paid_at, failed_at)
         SELECT $2, $3, $4, $5::bigint, $6, $7::integer, $8, $9, $10, $11, $12, $13, $14, $15, $16::text,
                $17::timestamptz, $18::timestamptz, $19::timestamptz, $20::timestamptz, $21::timestamptz
         FROM voided WHERE NOT voided.voided
         ON CONFLICT (provider, idempotency_key) DO NOTHING
         RETURNING provider, idempotency_key, payout_id, state
       ), ev AS (
         INSERT INTO ${this.#t('sandbox_events')}
           (event_id, provider, idempotency_key, payout_id, type, reason, occurred_at, deliver_at)
         SELECT $22, ins.provider, ins.idempotency_key, ins.payout_id, 'paid', NULL, $19::timestamptz, $19::timestamptz
         FROM ins WHERE ins.state = 'paid'
         ON CONFLICT (event_id) DO NOTHING
       )
       SELECT voided.voided, ins.idempotency_key IS NOT NULL AS inserted FROM voided LEFT JOIN ins ON true`,
      [
        keyLockText(this.name, req.idempotencyKey),
        this.name,
        req.idempotencyKey,
        req.payoutId,
        amountMinor.toString(),
        req.amount.currency,
        req.amount.scale,
        req.method,
        req.rail,
        req.payee.id,
        mask(req.destination),
        d.providerRef,
        d.behaviour,
        d.state,
        d.planned,
        d.reason,
        d.settleAt,
        d.returnAt,
        d.now,
        d.state === 'paid' ? d.now : null,
        d.state === 'failed' ? d.now : null,
        `${this.name}.paid.${req.idempotencyKey}`,
      ],
      { prepare: true },
    );
    const row = rows[0]!;
    return row.voided ? 'voided' : row.inserted ? 'inserted' : 'exists';
  }

  async #find(em: EntityManager, key: string): Promise<SandboxDisbursement | undefined> {
    const rows = await sql<DisbursementRow>(
      em,
      `SELECT * FROM ${this.#t('sandbox_disbursements')} WHERE provider = $1 AND idempotency_key = $2`,
      [this.name, key],
    );
    return rows[0] ? toDisbursement(rows[0]) : undefined;
  }

  async #countAttempt(key: string): Promise<number> {
    const rows = await sql<{ attempts: number }>(
      this.#db.em(),
      `INSERT INTO ${this.#t('sandbox_submit_attempts')} (provider, idempotency_key, attempts) VALUES ($1, $2, 1)
       ON CONFLICT (provider, idempotency_key) DO UPDATE SET attempts = sandbox_submit_attempts.attempts + 1
       RETURNING attempts`,
      [this.name, key],
    );
    return Number(rows[0]!.attempts);
  }

  async #insertEvent(
    tx: EntityManager,
    row: SandboxDisbursement,
    type: ProviderEventType,
    reason: string | null,
    at: Date,
  ): Promise<void> {
    await sql(
      tx,
      `INSERT INTO ${this.#t('sandbox_events')}
         (event_id, provider, idempotency_key, payout_id, type, reason, occurred_at, deliver_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (event_id) DO NOTHING`,
      [
        `${this.name}.${type}.${row.idempotencyKey}`,
        this.name,
        row.idempotencyKey,
        row.payoutId,
        type,
        reason,
        at,
      ],
    );
  }

  async status(idempotencyKey: string): Promise<ProviderStatus> {
    await this.advance();
    const row = await this.#find(this.#db.em(), idempotencyKey);
    if (!row) return { state: 'not_found' };
    return { state: row.state, providerRef: row.providerRef, ...(row.reason ? { reason: row.reason } : {}) };
  }

  async cancel(idempotencyKey: string): Promise<CancelResult> {
    await this.advance();
    const rows = await sql<{ state: string }>(
      this.#db.em(),
      `UPDATE ${this.#t('sandbox_disbursements')}
       SET state = 'failed', reason = 'cancelled', failed_at = $3
       WHERE provider = $1 AND idempotency_key = $2 AND state = 'pending' RETURNING state`,
      [this.name, idempotencyKey, this.#clock()],
    );
    if (rows.length > 0) return { cancelled: true, state: 'failed', reason: 'cancelled' };
    // A recorded key stays recorded (rows are never deleted): only an unseen key needs the void and its lock.
    let row = await this.#find(this.#db.em(), idempotencyKey);
    if (!row) {
      const voided = await voidUnseenKey(
        this.#db.em(),
        this.#db.schema,
        this.name,
        idempotencyKey,
        async (tx) => (await this.#find(tx, idempotencyKey)) !== undefined,
        // submit records in one statement (#record): see voided-keys.ts for why the void takes this table.
        { lockTable: this.#t('sandbox_disbursements') },
      );
      if (voided) return { cancelled: true, state: 'not_found', reason: 'voided: never submitted' };
      row = await this.#find(this.#db.em(), idempotencyKey);
    }
    if (!row) throw new Error(`sandbox ${this.name}: key ${idempotencyKey} neither voided nor recorded`);
    return {
      cancelled: row.state === 'failed',
      state: row.state,
      ...(row.reason ? { reason: row.reason } : { reason: `cannot cancel a ${row.state} payout` }),
    };
  }

  parseWebhook(rawBody: Buffer, headers: WebhookHeaders): ProviderEvent[] {
    if (!this.#webhookSecret) {
      throw new WebhookVerificationError(
        'not_configured',
        `provider ${this.name} has no webhook secret configured`,
      );
    }
    const verified = verifyWebhook(this.#webhookSecret, headers, rawBody, { now: this.#clock() });
    let body: unknown;
    try {
      body = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new WebhookVerificationError('malformed_body', 'webhook body is not JSON');
    }
    const b = body as { type?: unknown; timestamp?: unknown; data?: Record<string, unknown> };
    const type = typeof b.type === 'string' ? b.type.replace(/^payout\./, '') : '';
    const data = b.data ?? {};
    if (
      !['paid', 'failed', 'returned'].includes(type) ||
      typeof data.idempotencyKey !== 'string' ||
      typeof data.payoutId !== 'string' ||
      typeof b.timestamp !== 'string'
    ) {
      throw new WebhookVerificationError('malformed_body', 'webhook body is not a sandbox payout event');
    }
    return [
      {
        eventId: verified.id,
        idempotencyKey: data.idempotencyKey,
        payoutId: data.payoutId,
        type: type as ProviderEventType,
        ...(typeof data.reason === 'string' ? { reason: data.reason } : {}),
        occurredAt: b.timestamp,
      },
    ];
  }

  // ---- simulation engine -------------------------------------------------------------------------

  /**
   * Applies every outcome that is due at `now`: pending payouts whose settle time passed become paid or
   * failed; paid payouts whose return time passed become returned. Each transition writes its event in the
   * same transaction. Called by status(), cancel(), runBatch(), the timers, and tests.
   */
  async advance(now: Date = this.#clock()): Promise<SandboxEvent[]> {
    const returnAfterMs = this.#scenario.returnAfterMs;
    const events = await this.#db.em().transactional(async (tx) => {
      const settled = await sql<DisbursementRow>(
        tx,
        `UPDATE ${this.#t('sandbox_disbursements')}
         SET state = planned_outcome,
             paid_at = CASE WHEN planned_outcome = 'paid' THEN $2::timestamptz END,
             failed_at = CASE WHEN planned_outcome = 'failed' THEN $2::timestamptz END,
             reason = CASE WHEN planned_outcome = 'failed' THEN 'rejected_by_bank: invalid_account' END,
             return_at = CASE WHEN planned_outcome = 'paid' AND scenario = 'pay_then_return'
                              THEN $2::timestamptz + make_interval(secs => $3::double precision / 1000) END
         WHERE provider = $1 AND state = 'pending' AND planned_outcome <> 'never' AND settle_at <= $2
         RETURNING *`,
        [this.name, now, returnAfterMs],
      );
      const returned = await sql<DisbursementRow>(
        tx,
        `UPDATE ${this.#t('sandbox_disbursements')}
         SET state = 'returned', returned_at = $2, reason = 'returned: account_closed'
         WHERE provider = $1 AND state = 'paid' AND return_at <= $2
         RETURNING *`,
        [this.name, now],
      );
      const out: { row: SandboxDisbursement; type: ProviderEventType }[] = [];
      for (const r of settled)
        out.push({ row: toDisbursement(r), type: r.state === 'paid' ? 'paid' : 'failed' });
      for (const r of returned) out.push({ row: toDisbursement(r), type: 'returned' });
      for (const e of out) await this.#insertEvent(tx, e.row, e.type, e.row.reason, now);
      return out;
    });
    for (const e of events) if (e.row.returnAt && e.type === 'paid') this.#wakeAt(e.row.returnAt);
    if (events.length > 0 && this.#webhook) this.#wakeAt(now);
    return events.map((e) => ({
      eventId: `${this.name}.${e.type}.${e.row.idempotencyKey}`,
      idempotencyKey: e.row.idempotencyKey,
      payoutId: e.row.payoutId,
      type: e.type,
      reason: e.type === 'paid' ? null : e.row.reason,
      occurredAt: now,
      deliveredAt: null,
      attempts: 0,
    }));
  }

  /** Runs the batch rail: every pending batch payout is settled now (paid, or failed per its scenario). */
  async runBatch(now: Date = this.#clock()): Promise<SandboxEvent[]> {
    await sql(
      this.#db.em(),
      `UPDATE ${this.#t('sandbox_disbursements')} SET settle_at = $2
       WHERE provider = $1 AND state = 'pending' AND rail = 'batch' AND settle_at IS NULL AND planned_outcome <> 'never'`,
      [this.name, now],
    );
    return this.advance(now);
  }

  /**
   * POSTs undelivered events to the configured webhook target (twice when duplicate webhooks are on for
   * the instance or the payout). A failed POST is retried by a later tick. Returns the event ids sent.
   */
  async deliverPendingWebhooks(now: Date = this.#clock()): Promise<string[]> {
    const target = this.#webhook;
    if (!target) return [];
    const due = await sql<{
      event_id: string;
      idempotency_key: string;
      payout_id: string;
      type: string;
      reason: string | null;
      occurred_at: Date | string;
      scenario: string;
      attempts: number;
    }>(
      this.#db.em(),
      `UPDATE ${this.#t('sandbox_events')} e SET delivered_at = $2, attempts = attempts + 1
       FROM ${this.#t('sandbox_disbursements')} d
       WHERE e.provider = $1 AND e.delivered_at IS NULL AND e.deliver_at <= $2
         AND d.provider = e.provider AND d.idempotency_key = e.idempotency_key
       RETURNING e.event_id, e.idempotency_key, e.payout_id, e.type, e.reason, e.occurred_at, d.scenario, e.attempts`,
      [this.name, now],
    );
    const sent: string[] = [];
    for (const e of due) {
      const body = JSON.stringify({
        type: `payout.${e.type}`,
        timestamp: new Date(e.occurred_at).toISOString(),
        data: {
          idempotencyKey: e.idempotency_key,
          payoutId: e.payout_id,
          providerRef: `${this.name}_${e.idempotency_key}`,
          ...(e.reason ? { reason: e.reason } : {}),
        },
      });
      const copies = this.#scenario.duplicateWebhooks || e.scenario === 'duplicate_webhooks' ? 2 : 1;
      try {
        for (let i = 0; i < copies; i++) {
          const headers = signWebhook(target.secret, { id: e.event_id, body, timestamp: this.#clock() });
          const res = await this.#fetch(target.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-sandbox-provider': this.name, ...headers },
            body,
            signal: AbortSignal.timeout(10_000),
          });
          await res.body?.cancel().catch(() => undefined);
          if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
        }
        sent.push(e.event_id);
      } catch (err) {
        // Put it back with an exponential backoff (1 s, 2 s, 4 s … 60 s); a later tick retries.
        const retryAt = new Date(now.getTime() + Math.min(60, 2 ** (Number(e.attempts) - 1)) * 1000);
        await sql(
          this.#db.em(),
          `UPDATE ${this.#t('sandbox_events')} SET delivered_at = NULL, last_error = $2, deliver_at = $3 WHERE event_id = $1`,
          [e.event_id, (err as Error).message, retryAt],
        );
        this.#wakeAt(retryAt);
      }
    }
    return sent;
  }

  /**
   * One background step: apply due outcomes, then deliver due webhooks. A wake-up that arrives while a
   * step runs is not dropped: the step runs once more (its query may have started before the new row).
   */
  async tick(): Promise<void> {
    if (this.#ticking) {
      this.#tickAgain = true;
      return this.#ticking;
    }
    this.#ticking = (async () => {
      try {
        do {
          this.#tickAgain = false;
          try {
            await this.advance();
            await this.deliverPendingWebhooks();
          } catch (err) {
            this.lastBackgroundError = err as Error;
          }
        } while (this.#tickAgain && !this.#stopped);
      } finally {
        this.#ticking = undefined;
      }
    })();
    return this.#ticking;
  }

  #wakeAt(at: Date): void {
    if (this.#stopped) return;
    const delay = Math.max(0, at.getTime() - this.#clock().getTime());
    if (delay > 2 ** 31 - 1) return; // the poll interval (start()) covers far-future wake-ups
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.tick();
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }

  /**
   * Background polling so outcomes survive a restart (timers are in memory, rows are not): every
   * `pollMs` apply due outcomes and deliver webhooks; with `batchIntervalMs` also run the batch rail.
   */
  start(options: { pollMs?: number; batchIntervalMs?: number } = {}): void {
    this.#stopped = false;
    const pollMs = options.pollMs ?? 1000;
    let sinceBatch = 0;
    this.#interval = setInterval(() => {
      sinceBatch += pollMs;
      if (options.batchIntervalMs && sinceBatch >= options.batchIntervalMs) {
        sinceBatch = 0;
        void this.runBatch().catch((err: unknown) => {
          this.lastBackgroundError = err as Error;
        });
      }
      void this.tick();
    }, pollMs);
    this.#interval.unref();
    void this.tick();
  }

  /** Stops timers and waits for a running tick; call in test teardown and on shutdown. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#interval) clearInterval(this.#interval);
    this.#interval = undefined;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.#ticking;
  }

  /** Where events go from now on, and the secret webhooks are signed and verified with (set after start-up,
   * e.g. once `npm start` knows its API's address). Undelivered events are sent at the next tick. */
  deliverWebhooksTo(target: { url: string; secret: string }): void {
    this.#webhook = target;
    this.#webhookSecret = target.secret;
    this.#wakeAt(this.#clock());
  }

  get webhookUrl(): string | undefined {
    return this.#webhook?.url;
  }

  // ---- control API for tests and demos -----------------------------------------------------------

  get scenario(): Readonly<SandboxScenario> {
    return this.#scenario;
  }

  /** Changes the instance scenario from now on (existing rows keep the behaviour they were given). */
  setScenario(patch: Partial<SandboxScenario>): void {
    this.#scenario = { ...this.#scenario, ...patch };
  }

  async disbursement(idempotencyKey: string): Promise<SandboxDisbursement | undefined> {
    return this.#find(this.#db.em(), idempotencyKey);
  }

  async events(filter: { idempotencyKey?: string } = {}): Promise<SandboxEvent[]> {
    const rows = await sql<{
      event_id: string;
      idempotency_key: string;
      payout_id: string;
      type: ProviderEventType;
      reason: string | null;
      occurred_at: Date | string;
      delivered_at: Date | string | null;
      attempts: number;
    }>(
      this.#db.em(),
      `SELECT * FROM ${this.#t('sandbox_events')} WHERE provider = $1 AND ($2::text IS NULL OR idempotency_key = $2)
       ORDER BY occurred_at, event_id`,
      [this.name, filter.idempotencyKey ?? null],
    );
    return rows.map((r) => ({
      eventId: r.event_id,
      idempotencyKey: r.idempotency_key,
      payoutId: r.payout_id,
      type: r.type,
      reason: r.reason,
      occurredAt: new Date(r.occurred_at),
      deliveredAt: r.delivered_at === null ? null : new Date(r.delivered_at),
      attempts: Number(r.attempts),
    }));
  }
}

export type { SandboxBehaviour };
