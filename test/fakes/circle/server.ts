// A local fake of the Circle Core API endpoints the circle adapter uses, for contract and end-to-end tests:
// blockchain transfers from a wallet (create with idempotencyKey, get, list), balances, notification
// subscriptions with their SNS confirmation handshake, notifications as SNS messages signed as Amazon SNS signs
// them (RSA over the canonical field string, certificate at SigningCertURL) — or, with `signing: "circle"`,
// signed with X-Circle-Signature (ECDSA P-256 / SHA-256 over the raw body) under X-Circle-Key-Id, keys at
// /v2/notifications/publicKey/{id} — the stablecoin list, network fees on transfers. Faults can be injected. State lives in memory: it is the provider's side,
// whose books the tests check against the ledger. See README.md beside this file for the documentation followed.
import { createHash, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { closeServer, type FaultMatch, listenOnLoopback, takeFault } from '../shared/http.ts';
import { FakeWithOutbox, postWebhook, WebhookOutbox } from '../shared/webhooks.ts';
import { type SelfSignedCertificate, selfSignedCertificate } from '../shared/x509.ts';

export interface FakeTransfer {
  id: string;
  source: { type: 'wallet'; id: string };
  destination: { type: 'blockchain'; address: string; chain: string };
  amount: { amount: string; currency: string };
  transactionHash?: string;
  /** Present once a fee is non-zero: the chain's network fee, charged to the wallet on top of the amount. */
  fees?: { amount: string; currency: string; type: 'network' }[];
  status: 'pending' | 'complete' | 'failed';
  errorCode?: string;
  createDate: string;
}

/** An injected fault for matching requests, consumed `times` times (default 1). */
export type Fault = FaultMatch &
  (
    | { kind: 'status'; status: number; code?: number; message?: string }
    | { kind: 'latency'; ms: number }
    /** The request executes (the transfer is made), then the answer is held for `ms` and the connection dropped. */
    | { kind: 'timeout_after'; ms: number }
  );

export interface Delivery {
  messageId: string;
  transferId?: string;
  status: number;
  type: string;
}

interface SigningKey {
  id: string;
  privateKey: KeyObject;
  publicKeyB64: string;
}

const CHAINS: Record<string, RegExp> = {
  ETH: /^0x[0-9a-fA-F]{40}$/,
  MATIC: /^0x[0-9a-fA-F]{40}$/,
  ARB: /^0x[0-9a-fA-F]{40}$/,
  BASE: /^0x[0-9a-fA-F]{40}$/,
  AVAX: /^0x[0-9a-fA-F]{40}$/,
  SOL: /^[1-9A-HJ-NP-Za-km-z]{32,44}$/,
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 86_400_000;

class CircleFailure extends Error {
  readonly status: number;
  readonly code: number;
  constructor(status: number, code: number, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Micro-units (6 decimals) of a Circle decimal string; throws a 400 when it is not one. */
function micro(amount: unknown): bigint {
  if (typeof amount !== 'string' || !/^\d+(\.\d{1,6})?$/.test(amount)) {
    throw new CircleFailure(
      400,
      2,
      'Invalid entity. amount.amount must be a decimal string with up to 6 decimals',
    );
  }
  const [w, f = ''] = amount.split('.');
  return BigInt(w! + f.padEnd(6, '0'));
}

export interface FakeCircleOptions {
  apiKey: string;
  walletId?: string;
  /** Available balance in micro-units per Circle currency (default 10 000 000 USD). */
  balance?: Record<string, bigint>;
  /** A pending transfer completes on chain after this many ms (default 30); undefined with autoComplete off. */
  confirmAfterMs?: number;
}

/** The SNS topic the fake publishes to (Circle's subscriptionDetails[].url). */
export const FAKE_TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:fake-circle-notifications';

/** The string Amazon SNS signs: "<name>\n<value>\n" per field of the message type, in order, absent skipped. */
function snsCanonical(m: Record<string, string>): string {
  const fields =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return fields.flatMap((f) => (m[f] === undefined ? [] : [`${f}\n${m[f]}\n`])).join('');
}

/** A notification as sent: its SNS message id, body and the transfer it is about. */
interface Notified {
  messageId: string;
  body: string;
  transferId?: string;
}

export class FakeCircle extends FakeWithOutbox<Notified> {
  readonly apiKey: string;
  readonly walletId: string;
  readonly balance: Record<string, bigint>;
  readonly transfers = new Map<string, FakeTransfer>();
  readonly deliveries: Delivery[] = [];
  readonly requests: {
    method: string;
    path: string;
    status: number;
    idempotencyKey?: string;
    replayed: boolean;
  }[] = [];
  readonly keys: SigningKey[] = [];
  readonly notifications: { messageId: string; body: string; transferId?: string }[] = [];
  faults: Fault[] = [];
  /** Pending transfers complete by themselves (after confirmAfterMs). */
  autoComplete = true;
  confirmAfterMs: number;
  /** Addresses Circle's screening refuses: the transfer is created failed, errorCode transfer_denied. */
  readonly deniedAddresses = new Set<string>();
  /** Confirmed subscriber endpoint (after the SubscribeURL GET). */
  endpoint: string | undefined;
  subscriptions: { id: string; endpoint: string; token: string; confirmed: boolean }[] = [];
  /** Notify the `pending` state of new transfers too (Circle does). */
  notifyPending = true;
  /** How notifications are signed: by SNS (Circle Mint, default) or by Circle's X-Circle-Signature (v2). */
  signing: 'sns' | 'circle' = 'sns';
  /** SignatureVersion of SNS signatures: 1 (SHA1withRSA) or 2 (SHA256withRSA). */
  snsSignatureVersion: '1' | '2' = '2';
  /** The network fee charged per complete transfer (Circle's `fees`, decimal USD); "0" adds none. */
  networkFee = '0.012345';
  /**
   * Circle lists the fee with `complete` (false, default) or in a later notification that keeps `complete`
   * (true): `complete` then carries no fees, and reportNetworkFee(id) charges and notifies it.
   */
  networkFeeLater = false;
  /** GET /v1/stablecoins: the chains each stablecoin is issued on. */
  stablecoinChains: Record<string, string[]> = {
    USDC: ['ETH', 'MATIC', 'ARB', 'BASE', 'SOL', 'AVAX'],
    EURC: ['ETH', 'SOL', 'AVAX', 'BASE'],
  };
  #snsCert: SelfSignedCertificate | undefined;
  readonly #certPath = `/fake/sns/SimpleNotificationService-${randomUUID().replace(/-/g, '')}.pem`;
  protected readonly outbox = new WebhookOutbox<Notified>((n) => this.#post(n));
  #timers = new Set<NodeJS.Timeout>();
  /** Fees of complete transfers not reported yet (networkFeeLater), by transfer id. */
  #feesDue = new Map<string, string>();
  #saved = new Map<string, { hash: string; status: number; body: string }>();
  #offsetMs = 0;
  #server: Server | undefined;
  url = '';

  constructor(o: FakeCircleOptions) {
    super();
    this.apiKey = o.apiKey;
    this.walletId = o.walletId ?? '1000216185';
    this.balance = { USD: 10_000_000_000_000n, EUR: 0n, ...o.balance };
    this.confirmAfterMs = o.confirmAfterMs ?? 30;
    this.rotateKey();
  }

  // ---- control API -------------------------------------------------------------------------------

  async start(): Promise<string> {
    ({ server: this.#server, url: this.url } = await listenOnLoopback((req, res) => this.#handle(req, res)));
    return this.url;
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    await this.outbox.sent();
    await closeServer(this.#server);
  }

  now(): Date {
    return new Date(Date.now() + this.#offsetMs);
  }

  /** A new signing key (Circle rotates them); later notifications are signed with it. Returns its id. */
  rotateKey(): string {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const key = {
      id: randomUUID(),
      privateKey,
      publicKeyB64: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    };
    this.keys.push(key);
    return key.id;
  }

  get signingKey(): SigningKey {
    return this.keys[this.keys.length - 1]!;
  }

  /** Signs `body` as Circle does: base64 DER ECDSA-SHA256 (defaults to the current key). */
  signBody(body: string, key = this.signingKey): Record<string, string> {
    return {
      'x-circle-signature': sign('sha256', Buffer.from(body), key.privateKey).toString('base64'),
      'x-circle-key-id': key.id,
    };
  }

  /** The SNS signing certificate (made on first use). */
  get snsCertificate(): SelfSignedCertificate {
    this.#snsCert ??= selfSignedCertificate('sns.us-east-1.amazonaws.com');
    return this.#snsCert;
  }

  /** Adds SNS's SignatureVersion, SigningCertURL and Signature to a message, as Amazon SNS does. */
  signSns(m: Record<string, string>, version = this.snsSignatureVersion): Record<string, string> {
    const signed = { ...m, SignatureVersion: version, SigningCertURL: `${this.url}${this.#certPath}` };
    const signature = sign(
      version === '1' ? 'sha1' : 'sha256',
      Buffer.from(snsCanonical(signed)),
      this.snsCertificate.privateKey,
    );
    return { ...signed, Signature: signature.toString('base64') };
  }

  /** Subscribes an endpoint: Circle POSTs a SubscriptionConfirmation; it is confirmed when its URL is fetched. */
  async subscribe(endpoint: string): Promise<{ id: string; confirmed: boolean; status: number }> {
    const sub = { id: randomUUID(), endpoint, token: randomUUID().replace(/-/g, ''), confirmed: false };
    this.subscriptions.push(sub);
    const body = JSON.stringify(
      this.signSns({
        Type: 'SubscriptionConfirmation',
        MessageId: randomUUID(),
        Token: sub.token,
        TopicArn: FAKE_TOPIC_ARN,
        Message: `You have chosen to subscribe to the topic ${FAKE_TOPIC_ARN}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
        SubscribeURL: `${this.url}/fake/subscriptions/${sub.id}/confirm?Token=${sub.token}`,
        Timestamp: this.now().toISOString(),
      }),
    );
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'text/plain; charset=UTF-8',
        'x-amz-sns-message-type': 'SubscriptionConfirmation',
      },
      body,
    });
    await res.body?.cancel().catch(() => undefined);
    return { id: sub.id, confirmed: sub.confirmed, status: res.status };
  }

  /** Completes a pending transfer on chain now (transaction hash, status complete). */
  complete(transferId: string): FakeTransfer {
    const t = this.#require(transferId);
    if (t.status !== 'pending') throw new Error(`transfer ${transferId} is ${t.status}`);
    t.status = 'complete';
    t.transactionHash = `0x${createHash('sha256').update(t.id).digest('hex')}`;
    if (this.networkFeeLater) this.#feesDue.set(t.id, this.networkFee);
    else this.#chargeFee(t, this.networkFee);
    this.#notify(t);
    return t;
  }

  /**
   * The network fee of a transfer completed with networkFeeLater, known now: listed in its `fees`, taken from the
   * wallet, and notified in a new notification whose status stays `complete`.
   */
  reportNetworkFee(transferId: string): FakeTransfer {
    const t = this.#require(transferId);
    const fee = this.#feesDue.get(transferId);
    if (fee === undefined) throw new Error(`transfer ${transferId} has no network fee to report`);
    this.#feesDue.delete(transferId);
    this.#chargeFee(t, fee);
    this.#notify(t);
    return t;
  }

  /** Fails a pending transfer (funds back to the wallet). */
  fail(transferId: string, code = 'blockchain_error'): FakeTransfer {
    const t = this.#require(transferId);
    if (t.status !== 'pending') throw new Error(`transfer ${transferId} is ${t.status}`);
    this.#failTransfer(t, code);
    return t;
  }

  /**
   * A complete transfer undone `days` later (the clock moves on): its transaction was dropped by a chain
   * reorganisation and Circle reports it failed, funds back to the wallet. The only "return" a USDC transfer has.
   */
  reverse(transferId: string, o: { days?: number; code?: string } = {}): FakeTransfer {
    const t = this.#require(transferId);
    if (t.status !== 'complete') throw new Error(`transfer ${transferId} is ${t.status}, not complete`);
    this.#offsetMs += (o.days ?? 3) * DAY_MS;
    this.#failTransfer(t, o.code ?? 'blockchain_error');
    return t;
  }

  transfersTo(address: string): FakeTransfer[] {
    return [...this.transfers.values()].filter(
      (t) => t.destination.address.toLowerCase() === address.toLowerCase(),
    );
  }

  /** Money that reached addresses: complete transfers, in minor units at `scale` (exact at 2 for USD cents). */
  disbursedMinor(currency = 'USD', scale = 2): bigint {
    let total = 0n;
    for (const t of this.transfers.values()) {
      if (t.status === 'complete' && t.amount.currency === currency) total += micro(t.amount.amount);
    }
    return total / 10n ** BigInt(6 - scale);
  }

  /**
   * Network fees taken from the wallet (micro-units of the asset): every transfer that completed, including one
   * reversed since (the chain kept the fee).
   */
  networkFeesMinor(): bigint {
    let total = 0n;
    for (const t of this.transfers.values()) for (const f of t.fees ?? []) total += micro(f.amount);
    return total;
  }

  /** Addresses with more than one complete transfer (each test payee has its own address). */
  paidMoreThanOnce(): string[] {
    const n = new Map<string, number>();
    for (const t of this.transfers.values()) {
      if (t.status !== 'complete') continue;
      const a = t.destination.address.toLowerCase();
      n.set(a, (n.get(a) ?? 0) + 1);
    }
    return [...n].filter(([, c]) => c > 1).map(([a]) => a);
  }

  /** Re-sends a past notification (Circle retries an endpoint that did not answer 2xx). */
  async redeliver(messageId: string): Promise<void> {
    const n = this.notifications.find((x) => x.messageId === messageId);
    if (!n) throw new Error(`no notification ${messageId}`);
    this.outbox.send(n);
    await this.outbox.sent();
  }

  // ---- internals ---------------------------------------------------------------------------------

  #require(id: string): FakeTransfer {
    const t = this.transfers.get(id);
    if (!t) throw new Error(`no transfer ${id}`);
    return t;
  }

  /** Circle lists a fee only when it is non-zero; it is taken from the balance on top of the amount. */
  #chargeFee(t: FakeTransfer, amount: string): void {
    const fee = micro(amount);
    if (fee <= 0n) return;
    t.fees = [{ amount, currency: 'USD', type: 'network' }];
    this.balance.USD = (this.balance.USD ?? 0n) - fee;
  }

  #failTransfer(t: FakeTransfer, code: string): void {
    t.status = 'failed';
    t.errorCode = code;
    this.balance[t.amount.currency] = (this.balance[t.amount.currency] ?? 0n) + micro(t.amount.amount);
    this.#notify(t);
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #notify(t: FakeTransfer): void {
    const messageId = randomUUID();
    const message = {
      clientId: 'c60d2d5b-203c-45bb-9f6e-93641d40a599',
      notificationType: 'transfers',
      version: 1,
      customAttributes: { clientId: 'c60d2d5b-203c-45bb-9f6e-93641d40a599' },
      transfer: structuredClone(t),
    };
    const envelope = {
      Type: 'Notification',
      MessageId: messageId,
      TopicArn: FAKE_TOPIC_ARN,
      Message: JSON.stringify(message),
      Timestamp: this.now().toISOString(),
    };
    const body = JSON.stringify(this.signing === 'sns' ? this.signSns(envelope) : envelope);
    const n = { messageId, body, transferId: t.id };
    this.notifications.push(n);
    this.outbox.emit(n);
  }

  async #post(n: Notified): Promise<void> {
    const target = this.endpoint;
    if (!target) return;
    const headers = {
      'content-type': 'text/plain; charset=UTF-8',
      'x-amz-sns-message-type': 'Notification',
      ...(this.signing === 'circle' ? this.signBody(n.body) : {}),
    };
    const status = await postWebhook(target, headers, n.body);
    this.deliveries.push({
      messageId: n.messageId,
      ...(n.transferId ? { transferId: n.transferId } : {}),
      status,
      type: 'transfers',
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    // Recorded for every answer, injected faults included (the tests check retries kept the key).
    let idempotencyKey: string | undefined;
    if (method === 'POST') {
      try {
        const k = (JSON.parse(raw) as { idempotencyKey?: unknown }).idempotencyKey;
        if (typeof k === 'string') idempotencyKey = k;
      } catch {
        idempotencyKey = undefined;
      }
    }
    const reply = (status: number, body: unknown, replayed = false) => {
      this.requests.push({ method, path, status, ...(idempotencyKey ? { idempotencyKey } : {}), replayed });
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': randomUUID() });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const confirm = /^\/fake\/subscriptions\/([^/]+)\/confirm$/.exec(path);
    if (method === 'GET' && confirm) {
      const sub = this.subscriptions.find(
        (s) => s.id === confirm[1] && s.token === url.searchParams.get('Token'),
      );
      if (!sub) return reply(404, { code: 404, message: 'subscription not found' });
      sub.confirmed = true;
      this.endpoint = sub.endpoint;
      return reply(200, { ConfirmSubscriptionResponse: { SubscriptionArn: `arn:aws:sns:fake:${sub.id}` } });
    }
    if (method === 'GET' && path === this.#certPath) {
      this.requests.push({ method, path, status: 200, replayed: false });
      res.writeHead(200, { 'content-type': 'application/x-pem-file' });
      return void res.end(this.snsCertificate.pem);
    }
    if (method === 'GET' && path === '/v1/stablecoins') {
      // Public at Circle (no API key), one call a minute per IP.
      return reply(200, {
        data: Object.entries(this.stablecoinChains).map(([symbol, chains]) => ({
          name: symbol === 'USDC' ? 'USD Coin' : 'Euro Coin',
          symbol,
          totalAmount: '1000000000.00',
          chains: chains.map((chain) => ({ amount: '1000.00', chain, updateDate: this.now().toISOString() })),
        })),
      });
    }
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return reply(401, {
        code: 401,
        message: 'Malformed authorization. Are the credentials properly encoded?',
      });
    }
    const fault = takeFault(this.faults, method, path);
    if (fault?.kind === 'latency') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'status') {
      return reply(fault.status, {
        code: fault.code ?? fault.status,
        message: fault.message ?? 'Injected fault',
      });
    }
    let status = 200;
    let body: string;
    let saveAs: { key: string; hash: string } | undefined;
    try {
      if (method === 'POST' && path === '/v1/transfers') {
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          throw new CircleFailure(400, 2, 'Invalid entity. The request body is not JSON');
        }
        const key = json.idempotencyKey;
        if (typeof key !== 'string' || !UUID.test(key)) {
          throw new CircleFailure(400, 2, 'Invalid entity. idempotencyKey must be a UUID');
        }
        idempotencyKey = key;
        const hash = createHash('sha256')
          .update(JSON.stringify({ ...json, idempotencyKey: undefined }))
          .digest('hex');
        const saved = this.#saved.get(key);
        if (saved) {
          if (saved.hash !== hash) {
            return reply(409, {
              code: 1,
              message: 'The idempotency key is already bound to another request',
            });
          }
          return reply(saved.status, saved.body, true);
        }
        saveAs = { key, hash };
        status = 201;
        body = JSON.stringify({ data: this.#createTransfer(json) });
      } else {
        body = JSON.stringify(this.#route(method, path, url.searchParams));
      }
    } catch (err) {
      if (!(err instanceof CircleFailure)) throw err;
      status = err.status;
      body = JSON.stringify({ code: err.code, message: err.message });
    }
    // Circle keeps the answer of a key whether it created or refused (a 4xx is final too).
    if (saveAs && status < 500) this.#saved.set(saveAs.key, { hash: saveAs.hash, status, body });
    if (fault?.kind === 'timeout_after') {
      this.requests.push({
        method,
        path,
        status: 0,
        ...(idempotencyKey ? { idempotencyKey } : {}),
        replayed: false,
      });
      setTimeout(() => res.destroy(), fault.ms).unref();
      return;
    }
    reply(status, body);
  }

  #createTransfer(json: Record<string, unknown>): FakeTransfer {
    const source = json.source as { type?: string; id?: string } | undefined;
    const dest = json.destination as { type?: string; address?: string; chain?: string } | undefined;
    const amount = json.amount as { amount?: string; currency?: string } | undefined;
    if (source?.type !== 'wallet' || source.id !== this.walletId) {
      throw new CircleFailure(400, 2, 'Invalid entity. source must be a wallet of this account');
    }
    if (dest?.type !== 'blockchain' || typeof dest.address !== 'string' || typeof dest.chain !== 'string') {
      throw new CircleFailure(
        400,
        2,
        'Invalid entity. destination must be {type: blockchain, address, chain}',
      );
    }
    const pattern = CHAINS[dest.chain];
    if (!pattern) throw new CircleFailure(400, 2, `Invalid entity. Unsupported chain ${dest.chain}`);
    if (!pattern.test(dest.address)) {
      throw new CircleFailure(
        400,
        5003,
        `Invalid blockchain address ${dest.address} for chain ${dest.chain}`,
      );
    }
    if (amount?.currency !== 'USD' && amount?.currency !== 'EUR') {
      throw new CircleFailure(400, 2, 'Invalid entity. amount.currency must be USD or EUR');
    }
    const value = micro(amount.amount);
    if (value <= 0n) throw new CircleFailure(400, 2, 'Invalid entity. amount must be positive');
    const t: FakeTransfer = {
      id: randomUUID(),
      source: { type: 'wallet', id: this.walletId },
      destination: { type: 'blockchain', address: dest.address, chain: dest.chain },
      amount: { amount: amount.amount!, currency: amount.currency },
      status: 'pending',
      createDate: this.now().toISOString(),
    };
    if (this.deniedAddresses.has(dest.address.toLowerCase())) {
      t.status = 'failed';
      t.errorCode = 'transfer_denied';
      this.transfers.set(t.id, t);
      this.#notify(t);
      return structuredClone(t);
    }
    if ((this.balance[amount.currency] ?? 0n) < value) {
      throw new CircleFailure(400, 5001, 'Insufficient funds in the source wallet');
    }
    this.balance[amount.currency] = this.balance[amount.currency]! - value;
    this.transfers.set(t.id, t);
    if (this.notifyPending) this.#notify(t);
    if (this.autoComplete)
      this.#later(this.confirmAfterMs, () => t.status === 'pending' && this.complete(t.id));
    return structuredClone(t);
  }

  #route(method: string, path: string, q: URLSearchParams): unknown {
    if (method === 'GET' && path === '/v1/balances') {
      const dec = (m: bigint) =>
        `${m / 1_000_000n}.${(m % 1_000_000n).toString().padStart(6, '0').slice(0, 2)}`;
      return {
        data: {
          available: Object.entries(this.balance).map(([currency, m]) => ({ amount: dec(m), currency })),
          unsettled: [],
        },
      };
    }
    const one = /^\/v1\/transfers\/([^/]+)$/.exec(path);
    if (method === 'GET' && one) {
      const t = this.transfers.get(one[1]!);
      if (!t) throw new CircleFailure(404, 404, 'Not found');
      return { data: t };
    }
    if (method === 'GET' && path === '/v1/transfers') {
      const wallet = q.get('sourceWalletId') ?? q.get('walletId');
      const from = q.get('from');
      const size = Math.min(Number(q.get('pageSize') ?? 50), 50);
      let list = [...this.transfers.values()]
        .filter((t) => !wallet || t.source.id === wallet)
        .filter((t) => !from || t.createDate >= from)
        .sort((a, b) => b.createDate.localeCompare(a.createDate)); // newest first, as Circle lists
      const after = q.get('pageAfter');
      if (after) list = list.slice(list.findIndex((t) => t.id === after) + 1);
      return { data: list.slice(0, size) };
    }
    const key = /^\/v2\/notifications\/publicKey\/([^/]+)$/.exec(path);
    if (method === 'GET' && key) {
      const k = this.keys.find((x) => x.id === key[1]);
      if (!k) throw new CircleFailure(404, 404, 'Not found');
      return {
        data: {
          id: k.id,
          algorithm: 'ECDSA_SHA_256',
          publicKey: k.publicKeyB64,
          createDate: this.now().toISOString(),
        },
      };
    }
    throw new CircleFailure(404, 404, `No route ${method} ${path}`);
  }
}
