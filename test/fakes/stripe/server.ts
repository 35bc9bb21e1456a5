// A local fake of the Stripe API endpoints the Stripe Connect adapter uses, for contract and end-to-end tests:
// transfers (create, retrieve, list by transfer_group, reversals), payouts on a connected account
// (Stripe-Account header: create standard/instant, retrieve, list, cancel), balance; Stripe's error shape,
// Idempotency-Key semantics, and Connect webhooks signed with Stripe-Signature (v1). Faults can be injected.
// It keeps its state in memory: it is the provider's side, whose books the tests check against the ledger.
// See README.md beside this file for the documentation each behaviour follows.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { closeServer, type FaultMatch, listenOnLoopback, takeFault } from '../shared/http.ts';
import { FakeWithOutbox, postWebhook, WebhookOutbox } from '../shared/webhooks.ts';

type Params = Record<string, string | Record<string, string>>;

export interface FakeExternalAccount {
  id: string;
  object: 'card' | 'bank_account';
  currency: string;
  /** Instant payouts allowed to it (debit cards, some banks). */
  instant: boolean;
}

export interface FakeAccount {
  id: string;
  balance: Record<string, number>;
  externalAccounts: FakeExternalAccount[];
  /** Payouts refused with this error code (e.g. account restricted). */
  refusePayouts?: string;
  /** The `transfers` capability (default active): Stripe refuses transfers to an account without it. */
  transfersCapability?: 'active' | 'inactive' | 'pending';
  /** `payouts_enabled` (default true). */
  payoutsEnabled?: boolean;
}

export interface FakeTransfer {
  id: string;
  object: 'transfer';
  amount: number;
  amount_reversed: number;
  currency: string;
  created: number;
  destination: string;
  description: string | null;
  metadata: Record<string, string>;
  reversed: boolean;
  transfer_group: string | null;
  livemode: false;
  reversals: { object: 'list'; data: unknown[]; has_more: false; total_count: number; url: string };
}

export interface FakePayout {
  id: string;
  object: 'payout';
  amount: number;
  arrival_date: number;
  automatic: false;
  created: number;
  currency: string;
  description: string | null;
  destination: string;
  failure_code: string | null;
  failure_message: string | null;
  livemode: false;
  metadata: Record<string, string>;
  method: 'standard' | 'instant';
  status: 'pending' | 'in_transit' | 'paid' | 'failed' | 'canceled';
  type: 'card' | 'bank_account';
  /** The reversal payout of this one (POST /v1/payouts/:id/reverse). */
  reversed_by: string | null;
  /** On a reversal payout: the payout it reverses. */
  original_payout: string | null;
}

/** An injected fault for matching requests, consumed `times` times (default 1). */
export type Fault = FaultMatch &
  (
    | { kind: 'status'; status: number; type?: string; code?: string; message?: string }
    | { kind: 'latency'; ms: number }
    /** The request executes (money moves), then the answer is held for `ms` and the connection dropped. */
    | { kind: 'timeout_after'; ms: number }
  );

export interface FakeEvent {
  id: string;
  object: 'event';
  api_version: string;
  account: string;
  created: number;
  livemode: false;
  pending_webhooks: number;
  request: { id: null; idempotency_key: null };
  type: string;
  data: { object: FakePayout; previous_attributes?: Partial<FakePayout> };
}

export interface WebhookDelivery {
  eventId: string;
  type: string;
  status: number;
}

export interface FakeStripeOptions {
  secretKey: string;
  /** Platform available balance per lower-case currency (default 10 000 000.00 usd). */
  platformBalance?: Record<string, number>;
  /** Instant payouts are paid right after they are created (Stripe test mode pays them within seconds). */
  autoSettleInstant?: boolean;
  /** The platform account's country (GET /v1/account), default US. */
  platformCountry?: string;
}

/**
 * Country specs the fake knows (GET /v1/country_specs/:country): bank account currencies → the countries of
 * such accounts, as in https://docs.stripe.com/api/country_specs/object (a subset).
 */
export const COUNTRY_SPECS: Record<string, Record<string, string[]>> = {
  US: { usd: ['US'] },
  GB: { gbp: ['GB'], eur: ['GB'], usd: ['GB'] },
  CA: { cad: ['CA'], usd: ['CA', 'US'] },
};

const DAY = 86_400;
const API_VERSION = '2026-10-28.endive';

function id(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

/** application/x-www-form-urlencoded with Stripe's one-level brackets: metadata[k]=v, created[gte]=1. */
function parseForm(text: string): Params {
  const out: Params = {};
  for (const [k, v] of new URLSearchParams(text)) {
    const m = /^([^[]+)\[([^\]]*)\]$/.exec(k);
    if (m) {
      const inner = (out[m[1]!] as Record<string, string> | undefined) ?? {};
      inner[m[2]!] = v;
      out[m[1]!] = inner;
    } else out[k] = v;
  }
  return out;
}

class StripeFailure extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | undefined;
  readonly param: string | undefined;
  constructor(status: number, type: string, message: string, code?: string, param?: string) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }
}

interface Saved {
  endpoint: string;
  paramsHash: string;
  status: number;
  body: string;
}

export class FakeStripe extends FakeWithOutbox<FakeEvent> {
  readonly secretKey: string;
  readonly accounts = new Map<string, FakeAccount>();
  readonly transfers = new Map<string, FakeTransfer>();
  readonly payouts = new Map<string, { account: string; payout: FakePayout }>();
  readonly platformBalance: Record<string, number>;
  platformCountry: string;
  readonly events: FakeEvent[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  readonly requests: {
    method: string;
    path: string;
    status: number;
    idempotencyKey?: string;
    replayed: boolean;
  }[] = [];
  faults: Fault[] = [];
  autoSettleInstant: boolean;
  /** Webhook endpoint (an API's /v1/providers/<name>/webhooks) and its signing secret. */
  webhook: { url: string; secret: string } | undefined;
  protected readonly outbox = new WebhookOutbox<FakeEvent>((e) => this.#post(e));
  #saved = new Map<string, Saved>();
  #inFlight = new Set<string>();
  #offsetSeconds = 0;
  #server: Server | undefined;
  url = '';

  constructor(o: FakeStripeOptions) {
    super();
    this.secretKey = o.secretKey;
    this.platformBalance = { usd: 1_000_000_000, ...o.platformBalance };
    this.autoSettleInstant = o.autoSettleInstant ?? true;
    this.platformCountry = o.platformCountry ?? 'US';
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

  now(): number {
    return Math.floor(Date.now() / 1000) + this.#offsetSeconds;
  }

  /** Moves the fake's clock on; standard payouts whose arrival date passed become paid (unless `settle: false`). */
  advanceDays(days: number, o: { settle?: boolean } = {}): void {
    this.#offsetSeconds += days * DAY;
    if (o.settle === false) return;
    for (const { payout } of this.payouts.values()) {
      if (
        (payout.status === 'pending' || payout.status === 'in_transit') &&
        payout.arrival_date <= this.now()
      ) {
        this.#pay(payout);
      }
    }
  }

  /** A connected account with a debit card (instant) and a bank account (standard), or as given. */
  addAccount(o: Partial<FakeAccount> = {}): FakeAccount {
    const account: FakeAccount = {
      id: o.id ?? id('acct'),
      balance: o.balance ?? {},
      externalAccounts: o.externalAccounts ?? [
        { id: id('card'), object: 'card', currency: 'usd', instant: true },
        { id: id('ba'), object: 'bank_account', currency: 'usd', instant: false },
      ],
      ...(o.refusePayouts ? { refusePayouts: o.refusePayouts } : {}),
      ...(o.transfersCapability ? { transfersCapability: o.transfersCapability } : {}),
      ...(o.payoutsEnabled !== undefined ? { payoutsEnabled: o.payoutsEnabled } : {}),
    };
    this.accounts.set(account.id, account);
    return account;
  }

  payout(payoutId: string): FakePayout | undefined {
    return this.payouts.get(payoutId)?.payout;
  }

  /** Payouts made for a Disburse payout (metadata disburse_payout_id). */
  payoutsFor(disbursePayoutId: string): FakePayout[] {
    return [...this.payouts.values()]
      .map((p) => p.payout)
      .filter((p) => p.metadata.disburse_payout_id === disbursePayoutId);
  }

  /** Money that reached payees: payouts now paid (a returned payout is failed again). */
  disbursedTotal(): bigint {
    let total = 0n;
    // A paid reversal (negative amount) took its original back from the payee's bank.
    for (const { payout } of this.payouts.values())
      if (payout.status === 'paid') total += BigInt(payout.amount);
    return total;
  }

  /** Disburse payout ids with more than one paid Stripe payout. */
  paidMoreThanOnce(): string[] {
    const count = new Map<string, number>();
    for (const { payout } of this.payouts.values()) {
      if (payout.status !== 'paid' || payout.original_payout) continue;
      const k = payout.metadata.disburse_payout_id ?? payout.id;
      count.set(k, (count.get(k) ?? 0) + 1);
    }
    return [...count].filter(([, n]) => n > 1).map(([k]) => k);
  }

  /** Pays a pending payout now (the bank confirmed), emitting payout.paid. */
  settle(payoutId: string): FakePayout {
    const p = this.#require(payoutId);
    if (p.status !== 'pending' && p.status !== 'in_transit')
      throw new Error(`payout ${payoutId} is ${p.status}`);
    this.#pay(p);
    return p;
  }

  /** Fails a pending payout (before it was paid): funds back to the account balance, payout.failed. */
  fail(payoutId: string, code = 'could_not_process'): FakePayout {
    const p = this.#require(payoutId);
    if (p.status !== 'pending' && p.status !== 'in_transit')
      throw new Error(`payout ${payoutId} is ${p.status}`);
    this.#failPayout(p, code);
    return p;
  }

  /** A paid payout sent back by the bank `days` later (the clock moves on): payout.failed after arrival. */
  returnPayout(payoutId: string, o: { code?: string; days?: number } = {}): FakePayout {
    const p = this.#require(payoutId);
    if (p.status !== 'paid') throw new Error(`payout ${payoutId} is ${p.status}, not paid`);
    this.#offsetSeconds += (o.days ?? 3) * DAY;
    this.#failPayout(p, o.code ?? 'account_closed');
    return p;
  }

  /**
   * Reverses a paid standard payout to a US bank account (Stripe's POST /v1/payouts/:id/reverse, also made from
   * the Dashboard): a reversal payout (negative amount, `original_payout`) pending until settleReversal().
   */
  reverse(payoutId: string): FakePayout {
    return this.#reverse(this.#require(payoutId));
  }

  /** The reversal debited the payee's bank: funds back on the connected account, `payout.paid` of the reversal. */
  settleReversal(reversalId: string): FakePayout {
    const r = this.#require(reversalId);
    if (!r.original_payout || r.status !== 'pending') throw new Error(`${reversalId} is no pending reversal`);
    const a = this.#accountOf(r);
    a.balance[r.currency] = (a.balance[r.currency] ?? 0) - r.amount;
    this.#pay(r);
    return r;
  }

  /** Re-sends a past event as Stripe does when an endpoint did not acknowledge it. */
  async redeliver(eventId: string): Promise<void> {
    const e = this.events.find((x) => x.id === eventId);
    if (!e) throw new Error(`no event ${eventId}`);
    this.outbox.send(e);
    await this.outbox.sent();
  }

  /** `Stripe-Signature` for a body: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>. */
  static sign(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
    const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
    return `t=${timestamp},v1=${v1}`;
  }

  // ---- state changes -----------------------------------------------------------------------------

  #require(payoutId: string): FakePayout {
    const p = this.payouts.get(payoutId)?.payout;
    if (!p) throw new Error(`no payout ${payoutId}`);
    return p;
  }

  #accountOf(p: FakePayout): FakeAccount {
    return this.accounts.get(this.payouts.get(p.id)!.account)!;
  }

  #pay(p: FakePayout): void {
    p.status = 'paid';
    this.#emit('payout.paid', p);
  }

  #reverse(p: FakePayout): FakePayout {
    if (p.status !== 'paid' || p.method !== 'standard' || p.type !== 'bank_account' || p.original_payout) {
      throw new StripeFailure(
        400,
        'invalid_request_error',
        'Only paid standard payouts to bank accounts can be reversed.',
      );
    }
    if (p.reversed_by) {
      throw new StripeFailure(400, 'invalid_request_error', 'This payout has already been reversed.');
    }
    const account = this.payouts.get(p.id)!.account;
    const now = this.now();
    const r: FakePayout = {
      ...structuredClone(p),
      id: id('po'),
      amount: -p.amount,
      created: now,
      arrival_date: now + 2 * DAY,
      metadata: {},
      status: 'pending',
      reversed_by: null,
      original_payout: p.id,
    };
    this.payouts.set(r.id, { account, payout: r });
    p.reversed_by = r.id;
    this.#emit('payout.updated', p, { reversed_by: null });
    this.#emit('payout.created', r);
    return r;
  }

  #failPayout(p: FakePayout, code: string): void {
    p.status = 'failed';
    p.failure_code = code;
    p.failure_message =
      code === 'account_closed' ? 'The bank account has been closed.' : 'The payout failed.';
    const a = this.#accountOf(p);
    a.balance[p.currency] = (a.balance[p.currency] ?? 0) + p.amount;
    this.#emit('payout.failed', p);
  }

  #emit(type: string, p: FakePayout, previous?: Partial<FakePayout>): void {
    const event: FakeEvent = {
      id: id('evt'),
      object: 'event',
      api_version: API_VERSION,
      account: this.payouts.get(p.id)!.account,
      created: this.now(),
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
      data: { object: structuredClone(p), ...(previous ? { previous_attributes: previous } : {}) },
    };
    this.events.push(event);
    this.outbox.emit(event);
  }

  async #post(event: FakeEvent): Promise<void> {
    const target = this.webhook;
    if (!target) return;
    const body = JSON.stringify(event);
    const headers = {
      'content-type': 'application/json',
      'stripe-signature': FakeStripe.sign(target.secret, body),
    };
    const status = await postWebhook(target.url, headers, body);
    this.deliveries.push({ eventId: event.id, type: event.type, status });
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const idempotencyKey = header(req, 'idempotency-key');
    const account = header(req, 'stripe-account');
    const reply = (status: number, body: string, replayed = false) => {
      this.requests.push({ method, path, status, ...(idempotencyKey ? { idempotencyKey } : {}), replayed });
      res.writeHead(status, {
        'content-type': 'application/json',
        'request-id': id('req'),
        ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
      });
      res.end(body);
    };
    const failure = (f: StripeFailure) =>
      JSON.stringify({
        error: {
          type: f.type,
          message: f.message,
          ...(f.code
            ? { code: f.code, doc_url: `https://docs.stripe.com/error-codes/${f.code.replace(/_/g, '-')}` }
            : {}),
          ...(f.param ? { param: f.param } : {}),
        },
      });

    const auth = header(req, 'authorization') ?? '';
    if (auth !== `Bearer ${this.secretKey}`) {
      return reply(
        401,
        failure(
          new StripeFailure(
            401,
            'invalid_request_error',
            'Invalid API Key provided: sk_****',
            'api_key_invalid',
          ),
        ),
      );
    }
    const fault = takeFault(this.faults, method, path);
    if (fault?.kind === 'latency') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'status') {
      // Refused in front of the API (rate limiter, load balancer): nothing executed, nothing saved.
      const type = fault.type ?? (fault.status === 429 ? 'rate_limit_error' : 'api_error');
      return reply(
        fault.status,
        failure(new StripeFailure(fault.status, type, fault.message ?? 'Injected fault', fault.code)),
      );
    }
    const params = method === 'GET' ? parseForm(url.search.slice(1)) : parseForm(raw);
    const endpoint = `${method} ${path}`;
    const scope = `${account ?? 'platform'}|${idempotencyKey}`;
    const paramsHash = createHash('sha256')
      .update(`${account ?? ''}\n${raw}`)
      .digest('hex');
    if (method === 'POST' && idempotencyKey) {
      const saved = this.#saved.get(scope);
      if (saved) {
        if (saved.endpoint !== endpoint || saved.paramsHash !== paramsHash) {
          return reply(
            400,
            failure(
              new StripeFailure(
                400,
                'idempotency_error',
                `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
              ),
            ),
          );
        }
        return reply(saved.status, saved.body, true);
      }
      if (this.#inFlight.has(scope)) {
        return reply(
          409,
          failure(
            new StripeFailure(
              409,
              'idempotency_error',
              'There is currently another in-progress request using this Idempotent Key.',
            ),
          ),
        );
      }
      this.#inFlight.add(scope);
    }
    let status = 200;
    let body: string;
    try {
      body = JSON.stringify(this.#route(method, path, params, account));
    } catch (err) {
      if (!(err instanceof StripeFailure)) throw err;
      status = err.status;
      body = failure(err);
    }
    if (method === 'POST' && idempotencyKey) {
      this.#inFlight.delete(scope);
      this.#saved.set(scope, { endpoint, paramsHash, status, body });
    }
    if (fault?.kind === 'timeout_after') {
      // Executed and saved; the client never hears the answer.
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

  /** The Account object as the platform retrieves a connected account (GET /v1/accounts/:id). */
  #accountObject(a: FakeAccount): unknown {
    const data = a.externalAccounts.map((e) => ({
      id: e.id,
      object: e.object,
      account: a.id,
      currency: e.currency,
      available_payout_methods: e.instant ? ['standard', 'instant'] : ['standard'],
    }));
    return {
      id: a.id,
      object: 'account',
      country: 'US',
      capabilities: { transfers: a.transfersCapability ?? 'active' },
      payouts_enabled: a.payoutsEnabled ?? true,
      external_accounts: {
        object: 'list',
        data,
        has_more: false,
        total_count: data.length,
        url: `/v1/accounts/${a.id}/external_accounts`,
      },
    };
  }

  #route(method: string, path: string, q: Params, account: string | undefined): unknown {
    const str = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : undefined);
    const meta = (): Record<string, string> => (typeof q.metadata === 'object' ? { ...q.metadata } : {});
    const amountOf = (): number => {
      const a = str('amount');
      if (!a || !/^\d+$/.test(a) || Number(a) < 1) {
        throw new StripeFailure(
          400,
          'invalid_request_error',
          'Invalid positive integer',
          'parameter_invalid_integer',
          'amount',
        );
      }
      return Number(a);
    };
    const currencyOf = (): string => {
      const c = str('currency');
      if (!c || !/^[a-z]{3}$/.test(c)) {
        throw new StripeFailure(
          400,
          'invalid_request_error',
          'Invalid currency',
          'parameter_invalid_string',
          'currency',
        );
      }
      return c;
    };
    const missing = (what: string, v: string, param = 'id') =>
      new StripeFailure(404, 'invalid_request_error', `No such ${what}: '${v}'`, 'resource_missing', param);
    // /v1/<resource>/<id>/<action>
    const [, , resource, rid, action, extra] = path.split('/');
    const one = rid !== undefined && rid !== '' && extra === undefined;

    if (method === 'GET' && path === '/v1/balance') {
      const bal = account ? (this.accounts.get(account)?.balance ?? {}) : this.platformBalance;
      return {
        object: 'balance',
        livemode: false,
        available: Object.entries(bal).map(([currency, amount]) => ({ amount, currency })),
        pending: [],
      };
    }
    if (method === 'GET' && path === '/v1/account' && !account) {
      return { id: 'acct_platform', object: 'account', country: this.platformCountry };
    }
    if (method === 'GET' && resource === 'country_specs' && one && action === undefined) {
      const spec = COUNTRY_SPECS[rid!];
      if (!spec) throw missing('country_spec', rid!);
      return {
        id: rid,
        object: 'country_spec',
        default_currency: Object.keys(spec)[0],
        supported_bank_account_currencies: spec,
        supported_payment_currencies: Object.keys(spec),
        supported_transfer_countries: [...new Set(Object.values(spec).flat())],
      };
    }
    if (method === 'GET' && resource === 'accounts' && one && action === undefined && !account) {
      const a = this.accounts.get(rid!);
      if (!a) throw missing('account', rid!);
      return this.#accountObject(a);
    }
    if (method === 'GET' && path === '/v1/events') {
      const type = str('type');
      const gte = typeof q.created === 'object' ? Number(q.created.gte ?? 0) : 0;
      const after = str('starting_after');
      const limit = Number(str('limit') ?? 10);
      let data = this.events
        .filter((e) => (account ? e.account === account : true) && e.created >= gte)
        .filter((e) => !type || e.type === type)
        .reverse();
      if (after) data = data.slice(data.findIndex((e) => e.id === after) + 1);
      return { object: 'list', data: data.slice(0, limit), has_more: data.length > limit, url: '/v1/events' };
    }
    if (path.startsWith('/v1/transfers') && account) {
      throw new StripeFailure(400, 'invalid_request_error', 'Transfers are made from the platform account');
    }
    if (method === 'POST' && path === '/v1/transfers') {
      const amount = amountOf();
      const currency = currencyOf();
      const destination = str('destination') ?? '';
      const to = this.accounts.get(destination);
      if (!to)
        throw new StripeFailure(
          400,
          'invalid_request_error',
          `No such destination: '${destination}'`,
          'resource_missing',
          'destination',
        );
      if ((to.transfersCapability ?? 'active') !== 'active') {
        throw new StripeFailure(
          400,
          'invalid_request_error',
          'Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments',
          'insufficient_capabilities_for_transfer',
        );
      }
      if ((this.platformBalance[currency] ?? 0) < amount) {
        throw new StripeFailure(
          400,
          'invalid_request_error',
          'You have insufficient available funds in your Stripe account.',
          'balance_insufficient',
        );
      }
      this.platformBalance[currency]! -= amount;
      to.balance[currency] = (to.balance[currency] ?? 0) + amount;
      const t: FakeTransfer = {
        id: id('tr'),
        object: 'transfer',
        amount,
        amount_reversed: 0,
        currency,
        created: this.now(),
        destination,
        description: str('description') ?? null,
        metadata: meta(),
        reversed: false,
        transfer_group: str('transfer_group') ?? null,
        livemode: false,
        reversals: { object: 'list', data: [], has_more: false, total_count: 0, url: '' },
      };
      t.reversals.url = `/v1/transfers/${t.id}/reversals`;
      this.transfers.set(t.id, t);
      return t;
    }
    if (method === 'GET' && path === '/v1/transfers') {
      const group = str('transfer_group');
      const data = [...this.transfers.values()].filter((t) => !group || t.transfer_group === group).reverse();
      return {
        object: 'list',
        data: data.slice(0, Number(str('limit') ?? 10)),
        has_more: false,
        url: '/v1/transfers',
      };
    }
    if (resource === 'transfers' && one && action === undefined && method === 'GET') {
      const t = this.transfers.get(rid!);
      if (!t) throw missing('transfer', rid!);
      return t;
    }
    if (resource === 'transfers' && one && action === 'reversals' && method === 'POST') {
      const t = this.transfers.get(rid!);
      if (!t) throw missing('transfer', rid!);
      const amount = str('amount') ? amountOf() : t.amount - t.amount_reversed;
      if (amount > t.amount - t.amount_reversed) {
        throw new StripeFailure(
          400,
          'invalid_request_error',
          'Transfer has already been fully reversed',
          'transfer_already_reversed',
        );
      }
      const from = this.accounts.get(t.destination)!;
      if ((from.balance[t.currency] ?? 0) < amount) {
        throw new StripeFailure(
          400,
          'invalid_request_error',
          'Insufficient funds in the connected account to reverse',
          'balance_insufficient',
        );
      }
      from.balance[t.currency]! -= amount;
      this.platformBalance[t.currency] = (this.platformBalance[t.currency] ?? 0) + amount;
      t.amount_reversed += amount;
      t.reversed = t.amount_reversed === t.amount;
      const r = {
        id: id('trr'),
        object: 'transfer_reversal',
        amount,
        currency: t.currency,
        transfer: t.id,
        metadata: meta(),
        created: this.now(),
      };
      t.reversals.data.push(r);
      t.reversals.total_count++;
      return r;
    }

    // Payouts act on the account named by Stripe-Account (the connected account).
    if (path.startsWith('/v1/payouts')) {
      const acct = account ? this.accounts.get(account) : undefined;
      if (!acct) {
        throw new StripeFailure(
          403,
          'invalid_request_error',
          'The provided key does not have access to this account',
          'account_invalid',
        );
      }
      if (method === 'POST' && path === '/v1/payouts') {
        const amount = amountOf();
        const currency = currencyOf();
        const payoutMethod = (str('method') ?? 'standard') as 'standard' | 'instant';
        if (!['standard', 'instant'].includes(payoutMethod)) {
          throw new StripeFailure(
            400,
            'invalid_request_error',
            'Invalid method',
            'parameter_invalid_string',
            'method',
          );
        }
        if (acct.payoutsEnabled === false) {
          throw new StripeFailure(
            400,
            'invalid_request_error',
            'Payouts are not enabled for this account.',
            'payouts_not_allowed',
          );
        }
        if (acct.refusePayouts) {
          throw new StripeFailure(
            400,
            'invalid_request_error',
            'Payouts are not allowed for this account',
            acct.refusePayouts,
          );
        }
        const dest = str('destination')
          ? acct.externalAccounts.find((e) => e.id === str('destination'))
          : payoutMethod === 'instant'
            ? acct.externalAccounts.find((e) => e.currency === currency && e.instant)
            : // Standard payouts go to the default account for the currency: its bank account when it has one.
              (acct.externalAccounts.find((e) => e.currency === currency && e.object === 'bank_account') ??
              acct.externalAccounts.find((e) => e.currency === currency));
        if (!dest) throw missing('external account', str('destination') ?? '(default)', 'destination');
        if (payoutMethod === 'instant' && !dest.instant) {
          throw new StripeFailure(
            400,
            'invalid_request_error',
            'This external account does not support Instant Payouts',
            'instant_payouts_unsupported',
            'destination',
          );
        }
        if ((acct.balance[currency] ?? 0) < amount) {
          throw new StripeFailure(
            400,
            'invalid_request_error',
            'You have insufficient funds in your Stripe account for this transfer.',
            'balance_insufficient',
          );
        }
        acct.balance[currency]! -= amount;
        const now = this.now();
        const p: FakePayout = {
          id: id('po'),
          object: 'payout',
          amount,
          arrival_date: payoutMethod === 'instant' ? now : now + 2 * DAY,
          automatic: false,
          created: now,
          currency,
          description: str('description') ?? null,
          destination: dest.id,
          failure_code: null,
          failure_message: null,
          livemode: false,
          metadata: meta(),
          method: payoutMethod,
          status: 'pending',
          type: dest.object,
          reversed_by: null,
          original_payout: null,
        };
        this.payouts.set(p.id, { account: acct.id, payout: p });
        if (payoutMethod === 'instant' && this.autoSettleInstant) {
          setImmediate(() => p.status === 'pending' && this.#pay(p));
        }
        return structuredClone(p);
      }
      if (method === 'GET' && path === '/v1/payouts') {
        const gte = typeof q.created === 'object' ? Number(q.created.gte ?? 0) : 0;
        const data = [...this.payouts.values()]
          .filter((x) => x.account === acct.id && x.payout.created >= gte)
          .map((x) => x.payout)
          .reverse();
        return {
          object: 'list',
          data: data.slice(0, Number(str('limit') ?? 10)),
          has_more: false,
          url: '/v1/payouts',
        };
      }
      if (resource === 'payouts' && one && action === undefined && method === 'GET') {
        const x = this.payouts.get(rid!);
        if (!x || x.account !== acct.id) throw missing('payout', rid!);
        return x.payout;
      }
      if (resource === 'payouts' && one && action === 'reverse' && method === 'POST') {
        const x = this.payouts.get(rid!);
        if (!x || x.account !== acct.id) throw missing('payout', rid!);
        return this.#reverse(x.payout);
      }
      if (resource === 'payouts' && one && action === 'cancel' && method === 'POST') {
        const x = this.payouts.get(rid!);
        if (!x || x.account !== acct.id) throw missing('payout', rid!);
        const p = x.payout;
        if (p.status !== 'pending') {
          throw new StripeFailure(
            400,
            'invalid_request_error',
            `Payouts can only be canceled while they are pending; this one is ${p.status}.`,
          );
        }
        p.status = 'canceled';
        acct.balance[p.currency] = (acct.balance[p.currency] ?? 0) + p.amount;
        this.#emit('payout.canceled', p);
        return p;
      }
    }
    throw new StripeFailure(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
