// A local fake of the PayPal REST endpoints the PayPal Payouts adapter uses, for contract and end-to-end tests:
// OAuth2 client-credentials tokens (with expiry), Payouts v1 (create batch, show batch, show item, cancel an
// unclaimed item), PayPal-Request-Id replay and the 30-day sender_batch_id refusal, PayPal's error shape, and
// webhooks signed like PayPal's (SHA256withRSA over "<transmission id>|<time>|<webhook id>|<crc32 of body>")
// that it verifies itself through verify-webhook-signature. Faults can be injected. State is in memory: it is
// PayPal's side of the books. See README.md beside this file for the documentation each behaviour follows.
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import { closeServer, type FaultMatch, listenOnLoopback, takeFault } from '../shared/http.ts';
import { FakeWithOutbox, postWebhook, WebhookOutbox } from '../shared/webhooks.ts';

export type FakeItemStatus =
  | 'PENDING'
  | 'SUCCESS'
  | 'FAILED'
  | 'UNCLAIMED'
  | 'RETURNED'
  | 'ONHOLD'
  | 'BLOCKED'
  | 'REFUNDED';

export interface FakeItem {
  payout_item_id: string;
  transaction_id: string;
  transaction_status: FakeItemStatus;
  payout_batch_id: string;
  sender_batch_id: string;
  payout_item: {
    recipient_type: string;
    amount: { value: string; currency: string };
    receiver: string;
    sender_item_id: string;
    recipient_wallet: string;
    note?: string;
  };
  time_processed: string;
  errors?: { name: string; message: string };
  /** Minor units (fake bookkeeping, not in PayPal's answers). */
  minor: bigint;
}

export interface FakeBatch {
  payout_batch_id: string;
  batch_status: 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'DENIED';
  sender_batch_id: string;
  time_created: string;
  items: FakeItem[];
}

/** An injected fault for matching requests, consumed `times` times (default 1). */
export type Fault = FaultMatch &
  (
    | { kind: 'status'; status: number; name?: string; message?: string }
    | { kind: 'latency'; ms: number }
    /** The request executes (money moves), then the answer is held for `ms` and the connection dropped. */
    | { kind: 'timeout_after'; ms: number }
  );

export interface FakeWebhookEvent {
  id: string;
  event_version: '1.0';
  create_time: string;
  resource_type: 'payouts_item' | 'payouts';
  event_type: string;
  summary: string;
  resource: Record<string, unknown>;
  links: { href: string; rel: string; method: string }[];
}

export interface WebhookDelivery {
  eventId: string;
  type: string;
  status: number;
}

/** What a receiver is at the fake PayPal: an account (paid at once), or a cause of failure. */
export type ReceiverBehaviour = 'account' | 'unregistered' | 'blocked' | { fail: string } | 'hold';

export interface FakePaypalOptions {
  clientId: string;
  clientSecret: string;
  /** The id of the webhook this app registered (what verify-webhook-signature checks against). */
  webhookId: string;
  /** Balance per currency in minor units (default 10 000 000.00 USD). */
  balance?: Record<string, bigint>;
  /** Access-token lifetime in seconds (PayPal: about 9 hours). */
  tokenLifetimeSeconds?: number;
}

const DECIMALS: Record<string, number> = { JPY: 0, HUF: 0, TWD: 0 };
const DAY_MS = 86_400_000;

function pid(len = 13): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
  return [...randomBytes(len)].map((b) => alphabet[b % alphabet.length]).join('');
}

class PaypalFailure extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, name: string, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.body = { name, message, debug_id: randomBytes(6).toString('hex'), ...extra };
  }
}

export class FakePaypal extends FakeWithOutbox<FakeWebhookEvent> {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly webhookId: string;
  readonly balance: Record<string, bigint>;
  readonly batches = new Map<string, FakeBatch>();
  readonly items = new Map<string, FakeItem>();
  readonly events: FakeWebhookEvent[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  readonly requests: {
    method: string;
    path: string;
    status: number;
    requestId?: string;
    replayed: boolean;
  }[] = [];
  /** How each receiver behaves; a receiver not listed is unregistered (UNCLAIMED), as at PayPal. */
  readonly receivers = new Map<string, ReceiverBehaviour>();
  faults: Fault[] = [];
  /** Process items right after the batch is created (PayPal does so within seconds); else processBatches(). */
  autoProcess = true;
  tokenLifetimeSeconds: number;
  tokensIssued = 0;
  webhook: { url: string } | undefined;
  /** verify-webhook-signature answers 503 (PayPal's verification service down). */
  verifierDown = false;
  readonly #keys: { privateKey: KeyObject; publicKey: KeyObject };
  readonly #tokens = new Map<string, number>();
  readonly #requestIds = new Map<string, { hash: string; status: number; body: string }>();
  protected readonly outbox = new WebhookOutbox<FakeWebhookEvent>((e) => this.#post(e));
  #offsetMs = 0;
  #server: Server | undefined;
  url = '';

  constructor(o: FakePaypalOptions) {
    super();
    this.clientId = o.clientId;
    this.clientSecret = o.clientSecret;
    this.webhookId = o.webhookId;
    this.balance = { USD: 1_000_000_000n, ...o.balance };
    this.tokenLifetimeSeconds = o.tokenLifetimeSeconds ?? 32_400;
    this.#keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  }

  // ---- control API -------------------------------------------------------------------------------

  async start(): Promise<string> {
    ({ server: this.#server, url: this.url } = await listenOnLoopback((req, res) => this.#handle(req, res)));
    return this.url;
  }

  async stop(): Promise<void> {
    await this.outbox.sent();
    await closeServer(this.#server);
  }

  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }

  /** Moves the fake's clock; unclaimed items older than 30 days are returned to the sender. */
  advanceDays(days: number): void {
    this.#offsetMs += days * DAY_MS;
    for (const item of this.items.values()) {
      if (
        item.transaction_status === 'UNCLAIMED' &&
        this.now().getTime() - Date.parse(item.time_processed) >= 30 * DAY_MS
      ) {
        this.#returnToSender(item, 'RETURNED', 'PAYMENT.PAYOUTS-ITEM.RETURNED');
      }
    }
  }

  /** Invalidates every access token issued so far (a revoked app secret, or tokens past their expiry). */
  revokeTokens(): void {
    this.#tokens.clear();
  }

  /** PayPal keeps PayPal-Request-Id answers for a limited time: forget them (the sender_batch_id check stays). */
  forgetRequestIds(): void {
    this.#requestIds.clear();
  }

  /** Processes the items of every batch still pending (when autoProcess is off). */
  processBatches(): void {
    for (const b of this.batches.values()) if (b.batch_status === 'PENDING') this.#process(b);
  }

  /** The recipient claims an unclaimed item (signs up): it is paid. */
  claim(itemId: string): void {
    const item = this.#item(itemId);
    if (item.transaction_status !== 'UNCLAIMED' && item.transaction_status !== 'ONHOLD') {
      throw new Error(`item ${itemId} is ${item.transaction_status}`);
    }
    this.#set(item, 'SUCCESS', 'PAYMENT.PAYOUTS-ITEM.SUCCEEDED');
  }

  /** The recipient refunds a paid item: the money comes back to the sender (a return days later). */
  refund(itemId: string, o: { days?: number } = {}): void {
    const item = this.#item(itemId);
    if (item.transaction_status !== 'SUCCESS')
      throw new Error(`item ${itemId} is ${item.transaction_status}`);
    if (o.days) this.#offsetMs += o.days * DAY_MS;
    this.#returnToSender(item, 'REFUNDED', 'PAYMENT.PAYOUTS-ITEM.REFUNDED');
  }

  item(itemId: string): FakeItem | undefined {
    return this.items.get(itemId);
  }

  /** Items whose sender_batch_id is this Disburse payout's attempt key (`<payoutId>:<n>`). */
  itemsFor(payoutId: string): FakeItem[] {
    return [...this.items.values()].filter((i) => i.sender_batch_id.startsWith(`${payoutId}:`));
  }

  /** What left the sender's balance and reached recipients: SUCCESS items, in minor units. */
  disbursedTotal(): bigint {
    return [...this.items.values()]
      .filter((i) => i.transaction_status === 'SUCCESS')
      .reduce((s, i) => s + i.minor, 0n);
  }

  /** Disburse payouts (sender_batch_id prefix) with more than one item paid. */
  paidMoreThanOnce(): string[] {
    const count = new Map<string, number>();
    for (const i of this.items.values()) {
      if (i.transaction_status !== 'SUCCESS' && i.transaction_status !== 'REFUNDED') continue;
      const payout = i.sender_batch_id.replace(/:\d+$/, '');
      count.set(payout, (count.get(payout) ?? 0) + 1);
    }
    return [...count].filter(([, n]) => n > 1).map(([p]) => p);
  }

  /** Re-sends a past event, as PayPal does until the endpoint answers 2xx (same event id, new transmission). */
  async redeliver(eventId: string): Promise<void> {
    const e = this.events.find((x) => x.id === eventId);
    if (!e) throw new Error(`no event ${eventId}`);
    this.outbox.send(e);
    await this.outbox.sent();
  }

  /** PayPal's transmission headers for a body, signed with the fake's key (or as given, for forgeries). */
  signedHeaders(body: string, o: { webhookId?: string; time?: string } = {}): Record<string, string> {
    const id = randomUUID();
    const time = o.time ?? this.now().toISOString();
    const message = `${id}|${time}|${o.webhookId ?? this.webhookId}|${crc32(Buffer.from(body))}`;
    return {
      'content-type': 'application/json',
      'paypal-transmission-id': id,
      'paypal-transmission-time': time,
      'paypal-transmission-sig': sign('sha256', Buffer.from(message), this.#keys.privateKey).toString(
        'base64',
      ),
      'paypal-cert-url': `${this.url}/v1/notifications/certs/CERT-fake-paypal`,
      'paypal-auth-algo': 'SHA256withRSA',
    };
  }

  // ---- state changes -----------------------------------------------------------------------------

  #item(itemId: string): FakeItem {
    const item = this.items.get(itemId);
    if (!item) throw new Error(`no item ${itemId}`);
    return item;
  }

  #process(batch: FakeBatch): void {
    batch.batch_status = 'PROCESSING';
    this.#emit('PAYMENT.PAYOUTSBATCH.PROCESSING', 'payouts', this.#batchResource(batch));
    for (const item of batch.items) {
      const who =
        this.receivers.get(`${item.payout_item.recipient_wallet}:${item.payout_item.receiver}`) ??
        'unregistered';
      item.time_processed = this.now().toISOString();
      if (who === 'account') this.#set(item, 'SUCCESS', 'PAYMENT.PAYOUTS-ITEM.SUCCEEDED');
      else if (who === 'unregistered') {
        item.errors = { name: 'RECEIVER_UNREGISTERED', message: 'Receiver is unregistered' };
        this.#set(item, 'UNCLAIMED', 'PAYMENT.PAYOUTS-ITEM.UNCLAIMED');
      } else if (who === 'hold') this.#set(item, 'ONHOLD', 'PAYMENT.PAYOUTS-ITEM.HELD');
      else if (who === 'blocked') {
        item.errors = { name: 'RISK_DECLINE', message: 'Transaction was declined due to risk concerns' };
        this.#returnToSender(item, 'BLOCKED', 'PAYMENT.PAYOUTS-ITEM.BLOCKED');
      } else {
        item.errors = { name: who.fail, message: 'The payout item failed' };
        this.#returnToSender(item, 'FAILED', 'PAYMENT.PAYOUTS-ITEM.FAILED');
      }
    }
    batch.batch_status = 'SUCCESS';
    this.#emit('PAYMENT.PAYOUTSBATCH.SUCCESS', 'payouts', this.#batchResource(batch));
  }

  #set(item: FakeItem, status: FakeItemStatus, eventType: string): void {
    item.transaction_status = status;
    this.#emit(eventType, 'payouts_item', this.#itemResource(item));
  }

  /** The item's money goes back to the sender's balance (failed, blocked, unclaimed-returned, refunded). */
  #returnToSender(item: FakeItem, status: FakeItemStatus, eventType: string): void {
    const c = item.payout_item.amount.currency;
    this.balance[c] = (this.balance[c] ?? 0n) + item.minor;
    this.#set(item, status, eventType);
  }

  #emit(type: string, resourceType: 'payouts_item' | 'payouts', resource: Record<string, unknown>): void {
    const event: FakeWebhookEvent = {
      id: `WH-${pid(17)}`,
      event_version: '1.0',
      create_time: this.now().toISOString(),
      resource_type: resourceType,
      event_type: type,
      summary: type,
      resource,
      links: [{ href: `${this.url}/v1/notifications/webhooks-events/x`, rel: 'self', method: 'GET' }],
    };
    this.events.push(event);
    this.outbox.emit(event);
  }

  async #post(event: FakeWebhookEvent): Promise<void> {
    const target = this.webhook;
    if (!target) return;
    const body = JSON.stringify(event);
    const status = await postWebhook(target.url, this.signedHeaders(body), body);
    this.deliveries.push({ eventId: event.id, type: event.event_type, status });
  }

  #itemResource(i: FakeItem): Record<string, unknown> {
    const { minor: _m, ...rest } = i;
    return {
      ...structuredClone(rest),
      links: [
        { href: `${this.url}/v1/payments/payouts-item/${i.payout_item_id}`, rel: 'self', method: 'GET' },
      ],
    };
  }

  #batchResource(b: FakeBatch): Record<string, unknown> {
    return {
      batch_header: {
        payout_batch_id: b.payout_batch_id,
        batch_status: b.batch_status,
        time_created: b.time_created,
        sender_batch_header: { sender_batch_id: b.sender_batch_id },
      },
      links: [{ href: `${this.url}/v1/payments/payouts/${b.payout_batch_id}`, rel: 'self', method: 'GET' }],
    };
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const requestId = header(req, 'paypal-request-id');
    const reply = (status: number, body: string, replayed = false) => {
      this.requests.push({ method, path, status, ...(requestId ? { requestId } : {}), replayed });
      res.writeHead(status, {
        'content-type': 'application/json',
        'paypal-debug-id': randomBytes(6).toString('hex'),
      });
      res.end(body);
    };
    const fault = takeFault(this.faults, method, path);
    if (fault?.kind === 'latency') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'status') {
      const name = fault.name ?? (fault.status === 429 ? 'RATE_LIMIT_REACHED' : 'INTERNAL_SERVICE_ERROR');
      return reply(fault.status, JSON.stringify({ name, message: fault.message ?? 'Injected fault' }));
    }
    if (method === 'POST' && path === '/v1/oauth2/token') return this.#token(req, raw, reply);
    if (method === 'GET' && path.startsWith('/v1/notifications/certs/')) {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' });
      res.end(this.#keys.publicKey.export({ type: 'spki', format: 'pem' }));
      return;
    }
    const token = /^Bearer (.+)$/.exec(header(req, 'authorization') ?? '')?.[1];
    const expires = token ? this.#tokens.get(token) : undefined;
    if (expires === undefined || expires <= this.now().getTime()) {
      return reply(
        401,
        JSON.stringify({
          name: 'AUTHENTICATION_FAILURE',
          message:
            'Authentication failed due to invalid authentication credentials or a missing Authorization header.',
        }),
      );
    }
    const hash = createHash('sha256').update(`${method} ${path}\n${raw}`).digest('hex');
    if (method === 'POST' && requestId) {
      const saved = this.#requestIds.get(requestId);
      if (saved && saved.hash !== hash) {
        return reply(
          422,
          JSON.stringify({
            name: 'PAYPAL_REQUEST_ID_PREVIOUSLY_USED',
            message: 'The PayPal-Request-ID has already been used for another request.',
          }),
        );
      }
      if (saved) return reply(saved.status, saved.body, true);
    }
    let status = 200;
    let body: string;
    try {
      const out = this.#route(method, path, raw);
      status = out.status;
      body = JSON.stringify(out.body);
    } catch (err) {
      if (!(err instanceof PaypalFailure)) throw err;
      status = err.status;
      body = JSON.stringify(err.body);
    }
    if (method === 'POST' && requestId && status < 500)
      this.#requestIds.set(requestId, { hash, status, body });
    if (fault?.kind === 'timeout_after') {
      this.requests.push({ method, path, status: 0, ...(requestId ? { requestId } : {}), replayed: false });
      setTimeout(() => res.destroy(), fault.ms).unref();
      return;
    }
    reply(status, body);
  }

  #token(req: IncomingMessage, raw: string, reply: (s: number, b: string) => void): void {
    const expected = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
    if (header(req, 'authorization') !== expected) {
      reply(
        401,
        JSON.stringify({ error: 'invalid_client', error_description: 'Client Authentication failed' }),
      );
      return;
    }
    if (new URLSearchParams(raw).get('grant_type') !== 'client_credentials') {
      reply(
        400,
        JSON.stringify({ error: 'unsupported_grant_type', error_description: 'Grant Type is NULL' }),
      );
      return;
    }
    const token = `A21AA${randomBytes(24).toString('base64url')}`;
    this.#tokens.set(token, this.now().getTime() + this.tokenLifetimeSeconds * 1000);
    this.tokensIssued++;
    reply(
      200,
      JSON.stringify({
        scope:
          'https://uri.paypal.com/services/payments/payouts https://uri.paypal.com/services/applications/webhooks',
        access_token: token,
        token_type: 'Bearer',
        app_id: 'APP-80W284485P519543T',
        expires_in: this.tokenLifetimeSeconds,
        nonce: `${this.now().toISOString()}${randomBytes(8).toString('hex')}`,
      }),
    );
  }

  #route(method: string, path: string, raw: string): { status: number; body: unknown } {
    const json = (): Record<string, unknown> => {
      try {
        return JSON.parse(raw) as Record<string, unknown>;
      } catch {
        throw new PaypalFailure(400, 'MALFORMED_REQUEST', 'The request JSON is not well formed.');
      }
    };
    if (method === 'POST' && path === '/v1/payments/payouts')
      return { status: 201, body: this.#create(json()) };
    let m = /^\/v1\/payments\/payouts\/([A-Z0-9]+)$/.exec(path);
    if (method === 'GET' && m) {
      const b = this.batches.get(m[1]!);
      if (!b) throw new PaypalFailure(404, 'INVALID_RESOURCE_ID', 'Requested resource ID was not found.');
      return {
        status: 200,
        body: {
          ...this.#batchResource(b),
          items: b.items
            .filter((i) => i.transaction_status !== 'PENDING' || b.batch_status !== 'PENDING')
            .map((i) => this.#itemResource(i)),
        },
      };
    }
    m = /^\/v1\/payments\/payouts-item\/([A-Z0-9]+)(\/cancel)?$/.exec(path);
    if (m) {
      const item = this.items.get(m[1]!);
      if (!item) throw new PaypalFailure(404, 'INVALID_RESOURCE_ID', 'Requested resource ID was not found.');
      if (method === 'GET' && !m[2]) return { status: 200, body: this.#itemResource(item) };
      if (method === 'POST' && m[2]) {
        if (item.transaction_status !== 'UNCLAIMED') {
          throw new PaypalFailure(400, 'VALIDATION_ERROR', 'Only an unclaimed item can be cancelled.', {
            details: [{ field: 'payout_item_id', issue: `Item is ${item.transaction_status}` }],
          });
        }
        this.#returnToSender(item, 'RETURNED', 'PAYMENT.PAYOUTS-ITEM.CANCELED');
        return { status: 200, body: this.#itemResource(item) };
      }
    }
    if (method === 'POST' && path === '/v1/notifications/verify-webhook-signature') {
      if (this.verifierDown) throw new PaypalFailure(503, 'SERVICE_UNAVAILABLE', 'Service unavailable.');
      return { status: 200, body: { verification_status: this.#verifies(json()) ? 'SUCCESS' : 'FAILURE' } };
    }
    throw new PaypalFailure(404, 'NOT_FOUND', `No route for ${method} ${path}`);
  }

  #verifies(q: Record<string, unknown>): boolean {
    const s = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : '');
    if (s('auth_algo') !== 'SHA256withRSA' || s('webhook_id') !== this.webhookId) return false;
    if (!s('cert_url').startsWith(`${this.url}/v1/notifications/certs/`)) return false;
    const body = Buffer.from(JSON.stringify(q.webhook_event ?? null));
    const message = `${s('transmission_id')}|${s('transmission_time')}|${s('webhook_id')}|${crc32(body)}`;
    return verify(
      'sha256',
      Buffer.from(message),
      this.#keys.publicKey,
      Buffer.from(s('transmission_sig'), 'base64'),
    );
  }

  #create(q: Record<string, unknown>): unknown {
    const header = q.sender_batch_header as { sender_batch_id?: string; recipient_type?: string } | undefined;
    const items = q.items as Record<string, unknown>[] | undefined;
    const invalid = (field: string, issue: string) =>
      new PaypalFailure(400, 'VALIDATION_ERROR', 'Invalid request - see details.', {
        details: [{ field, location: 'body', issue }],
      });
    if (!header || typeof header.sender_batch_id !== 'string' || header.sender_batch_id.length > 256) {
      throw invalid('sender_batch_header.sender_batch_id', 'Required field missing or too long');
    }
    if (!Array.isArray(items) || items.length < 1 || items.length > 15_000)
      throw invalid('items', 'Between 1 and 15000 items required');
    const seen = [...this.batches.values()].find(
      (b) =>
        b.sender_batch_id === header.sender_batch_id &&
        this.now().getTime() - Date.parse(b.time_created) < 30 * DAY_MS,
    );
    if (seen) {
      throw new PaypalFailure(400, 'USER_BUSINESS_ERROR', 'User business error.', {
        details: [
          {
            field: 'SENDER_BATCH_ID',
            issue: 'Batch with given sender_batch_id already exists',
            link: [
              { href: `${this.url}/v1/payments/payouts/${seen.payout_batch_id}`, rel: 'self', method: 'GET' },
            ],
          },
        ],
      });
    }
    const batchId = pid();
    const parsed = items.map((it, n): FakeItem => {
      const amount = it.amount as { value?: string; currency?: string } | undefined;
      const currency = amount?.currency ?? '';
      const decimals = DECIMALS[currency] ?? 2;
      const pattern = decimals === 0 ? /^\d+$/ : new RegExp(`^\\d+\\.\\d{${decimals}}$`);
      if (!/^[A-Z]{3}$/.test(currency) || !pattern.test(amount?.value ?? '')) {
        throw invalid(`items[${n}].amount`, 'Currency code or value is invalid for the currency');
      }
      const minor = BigInt((amount!.value ?? '').replace('.', ''));
      if (minor < 1n) throw invalid(`items[${n}].amount.value`, 'Value must be positive');
      const wallet = (it.recipient_wallet as string | undefined) ?? 'PAYPAL';
      if (wallet === 'VENMO' && (currency !== 'USD' || !it.note)) {
        throw invalid(`items[${n}]`, 'Venmo payouts need USD and a note');
      }
      const senderItemId = String(it.sender_item_id ?? '');
      if (senderItemId.length > 63) throw invalid(`items[${n}].sender_item_id`, 'Too long');
      return {
        payout_item_id: pid(),
        transaction_id: pid(17),
        transaction_status: 'PENDING',
        payout_batch_id: batchId,
        sender_batch_id: header.sender_batch_id!,
        payout_item: {
          recipient_type: String(it.recipient_type ?? header.recipient_type ?? 'EMAIL'),
          amount: { value: amount!.value!, currency },
          receiver: String(it.receiver ?? ''),
          sender_item_id: senderItemId,
          recipient_wallet: wallet,
          ...(it.note ? { note: String(it.note) } : {}),
        },
        time_processed: this.now().toISOString(),
        minor,
      };
    });
    const ids = new Set(parsed.map((i) => i.payout_item.sender_item_id).filter(Boolean));
    if (ids.size !== parsed.filter((i) => i.payout_item.sender_item_id).length) {
      throw new PaypalFailure(
        400,
        'DUPLICATE_ITEM',
        'This transaction is duplicated in this batch. Please check the Ref_ID / Sender_Item_ID.',
      );
    }
    const totals = new Map<string, bigint>();
    for (const i of parsed)
      totals.set(i.payout_item.amount.currency, (totals.get(i.payout_item.amount.currency) ?? 0n) + i.minor);
    for (const [c, t] of totals) {
      if ((this.balance[c] ?? 0n) < t) {
        throw new PaypalFailure(
          422,
          'INSUFFICIENT_FUNDS',
          'Sender does not have sufficient funds. Please add funds and retry.',
        );
      }
    }
    for (const [c, t] of totals) this.balance[c]! -= t;
    const batch: FakeBatch = {
      payout_batch_id: batchId,
      batch_status: 'PENDING',
      sender_batch_id: header.sender_batch_id,
      time_created: this.now().toISOString(),
      items: parsed,
    };
    this.batches.set(batchId, batch);
    for (const i of parsed) this.items.set(i.payout_item_id, i);
    if (this.autoProcess) setImmediate(() => batch.batch_status === 'PENDING' && this.#process(batch));
    const { links, batch_header } = this.#batchResource(batch) as { links: unknown; batch_header: unknown };
    return { batch_header, links };
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
