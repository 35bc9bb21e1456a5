// A local fake of the Wise Platform API endpoints the Wise adapter calls (see README.md beside this file for
// the reference pages): quotes, recipient account requirements (dynamic, v1.1), recipient accounts, balances,
// transfers (idempotent by customerTransactionId), funding
// from the balance, cancel, transfer lookups, and signed transfers#state-change webhooks (RSA-SHA256 with the
// fake's own key pair, generated here). Money is kept in integer minor units; decimals are written and read
// as text. Fault injection: latency, HTTP statuses (429/5xx, SCA 403), an answer lost after the work was done,
// duplicate / held / re-ordered webhooks, a bounce days after the payment.
import { createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { closeServer, type FaultMatch, listenOnLoopback, takeFault } from '../shared/http.ts';
import { FakeWithOutbox, postWebhook, WebhookOutbox } from '../shared/webhooks.ts';

export interface FakeQuote {
  id: string;
  source: string;
  target: string;
  sourceMinor: bigint;
  feeMinor: bigint;
  targetMinor: bigint;
  /** Decimal text, e.g. "0.9210". */
  rate: string;
  used: boolean;
}

export interface FakeRecipient {
  id: number;
  currency: string;
  type: string;
  accountHolderName: string;
  details: Record<string, unknown>;
}

export interface FakeTransfer {
  id: number;
  targetAccount: number;
  quoteUuid: string;
  customerTransactionId: string;
  reference: string;
  status: string;
  created: string;
  funded: boolean;
  quote: FakeQuote;
}

export type Fault = FaultMatch &
  (
    | { kind: 'status'; status: number; code?: string; headers?: Record<string, string> }
    | { kind: 'latency'; ms: number }
    /** Does the work, then answers only after `ms` (past the client's timeout): the outcome is unknown to it. */
    | { kind: 'timeout_after'; ms: number }
    /** Does the work, then answers this error anyway (e.g. a repeated funding refused after the first went through). */
    | { kind: 'status_after'; status: number; code?: string }
    /** Does the work, then answers 200 with a body that is not JSON (a broken proxy, a truncated answer). */
    | { kind: 'unreadable' }
  );

export interface WebhookDelivery {
  transferId: number;
  state: string;
  status: number;
}

export interface FakeWiseOptions {
  token: string;
  profileId: number;
  /** Balance per currency in minor units (default 10,000,000.00 of USD, EUR, GBP). */
  balances?: Record<string, bigint>;
  /** Decimal text per "SRC>TGT" (default USD>EUR 0.9250, EUR>GBP 0.8600, …; same currency 1). */
  rates?: Record<string, string>;
}

const SCALE: Record<string, number> = { JPY: 0 };
const scaleOf = (c: string) => SCALE[c] ?? 2;
const dec = (minor: bigint, c: string): unknown => {
  const s = scaleOf(c);
  const t = minor.toString().padStart(s + 1, '0');
  return (JSON as unknown as { rawJSON(t: string): unknown }).rawJSON(
    s ? `${t.slice(0, -s)}.${t.slice(-s)}` : t,
  );
};
/** The v1.1 requirement field shape (GET /v1/account-requirements with Accept-Minor-Version: 1). */
interface RequirementField {
  key: string;
  type: 'text' | 'select' | 'radio';
  refreshRequirementsOnChange: boolean;
  required: boolean;
  displayFormat: null;
  example: string;
  minLength: number | null;
  maxLength: number | null;
  validationRegexp: string | null;
  validationAsync: null;
  valuesAllowed: { key: string; name: string }[] | null;
}

const field = (
  name: string,
  key: string,
  o: Partial<RequirementField> = {},
): { name: string; group: RequirementField[] } => ({
  name,
  group: [
    {
      key,
      type: 'text',
      refreshRequirementsOnChange: false,
      required: true,
      displayFormat: null,
      example: '',
      minLength: null,
      maxLength: null,
      validationRegexp: null,
      validationAsync: null,
      valuesAllowed: null,
      ...o,
    },
  ],
});
const values = (keys: string) => keys.split(' ').map((k) => ({ key: k, name: k }));
const US_STATES =
  'AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY = 86_400_000;

/** JSON with the decimal text of sourceAmount / targetAmount kept (never read through a float). */
function readJson(text: string): unknown {
  const parse = JSON.parse as (
    t: string,
    r: (k: string, v: unknown, c: { source?: string }) => unknown,
  ) => unknown;
  return parse(text, (k, v, c) =>
    typeof v === 'number' && (k === 'sourceAmount' || k === 'targetAmount') ? c.source : v,
  );
}

class WiseError extends Error {
  readonly status: number;
  readonly code: string;
  readonly path: string | undefined;
  constructor(status: number, code: string, message: string, path?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.path = path;
  }
}

/** A transfers#state-change as sent: the transfer, its new state and the signed body. */
interface StateChange {
  transferId: number;
  state: string;
  body: string;
}

export class FakeWise extends FakeWithOutbox<StateChange> {
  readonly token: string;
  readonly profileId: number;
  readonly balances: Record<string, bigint>;
  readonly rates: Record<string, string>;
  readonly quotes = new Map<string, FakeQuote>();
  readonly recipients = new Map<number, FakeRecipient>();
  readonly transfers = new Map<number, FakeTransfer>();
  readonly requests: { method: string; path: string; status: number }[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  /** Fee: fixed 0.50 + 0.40% of the source amount (minor units, rounded down). */
  fee = { fixedMinor: 50n, bps: 40n };
  faults: Fault[] = [];
  /** Funded transfers go out at once (outgoing_payment_sent); false: they wait in funds_converted for send(). */
  autoSend = true;
  /** Recipient creation refused (422) when the holder name contains this. */
  refuseHolder: string | undefined;
  /**
   * Target currencies whose recipients must carry a postal address (Wise asks it on USD routes: address.country,
   * city, firstLine, postCode, and address.state once the country is US). Default: USD.
   */
  addressRequired = new Set(['USD']);
  webhookUrl: string | undefined;
  readonly privateKey: string;
  readonly publicKey: string;
  url = '';
  #server: Server | undefined;
  #seq = 1000;
  #now = Date.now();
  protected readonly outbox = new WebhookOutbox<StateChange>((c) => this.#post(c));

  constructor(o: FakeWiseOptions) {
    super();
    this.token = o.token;
    this.profileId = o.profileId;
    this.balances = o.balances ?? { USD: 1_000_000_000n, EUR: 1_000_000_000n, GBP: 1_000_000_000n };
    this.rates = {
      'USD>EUR': '0.9250',
      'EUR>USD': '1.0800',
      'EUR>GBP': '0.8600',
      'USD>GBP': '0.7900',
      ...o.rates,
    };
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.publicKey = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  async start(): Promise<string> {
    ({ server: this.#server, url: this.url } = await listenOnLoopback((req, res) => this.#handle(req, res)));
    return this.url;
  }

  async stop(): Promise<void> {
    await this.outbox.sent();
    await closeServer(this.#server);
  }

  /** Wise's clock moves on (a bounce "days later"). */
  advanceDays(days: number): void {
    this.#now += days * DAY;
  }

  transfersFor(payoutId: string): FakeTransfer[] {
    return [...this.transfers.values()].filter((t) => t.reference === payoutId.slice(0, 18));
  }

  /** Source minor units of every transfer that went out and stayed out (what left the balance for good). */
  disbursedTotal(): bigint {
    return [...this.transfers.values()]
      .filter((t) => t.status === 'outgoing_payment_sent')
      .reduce((s, t) => s + t.quote.sourceMinor, 0n);
  }

  /** References (payout ids) with more than one transfer sent. */
  paidMoreThanOnce(): string[] {
    const sent = [...this.transfers.values()].filter(
      (t) => ['outgoing_payment_sent', 'bounced_back', 'funds_refunded'].includes(t.status) && t.funded,
    );
    const counts = new Map<string, number>();
    for (const t of sent) counts.set(t.reference, (counts.get(t.reference) ?? 0) + 1);
    return [...counts].filter(([, n]) => n > 1).map(([r]) => r);
  }

  /** A funded transfer waiting in funds_converted goes out to the bank. */
  send(transferId: number): void {
    const t = this.transfers.get(transferId)!;
    if (t.status !== 'funds_converted') throw new Error(`transfer ${transferId} is ${t.status}`);
    this.#move(t, 'outgoing_payment_sent');
  }

  /** The recipient's bank sends the money back `days` later: bounced_back, then funds_refunded to the balance. */
  bounce(transferId: number, o: { days?: number } = {}): void {
    const t = this.transfers.get(transferId)!;
    if (t.status !== 'outgoing_payment_sent') throw new Error(`transfer ${transferId} is ${t.status}`);
    this.advanceDays(o.days ?? 3);
    this.#move(t, 'bounced_back');
    this.balances[t.quote.source] = (this.balances[t.quote.source] ?? 0n) + t.quote.sourceMinor;
    this.#move(t, 'funds_refunded');
  }

  /** Signs like Wise: Base64 RSA-SHA256 of the raw body. */
  sign(body: string): string {
    return createSign('sha256').update(body).sign(this.privateKey, 'base64');
  }

  #move(t: FakeTransfer, state: string): void {
    const previous = t.status;
    t.status = state;
    const body = JSON.stringify({
      data: {
        resource: { type: 'transfer', id: t.id, profile_id: this.profileId, account_id: t.targetAccount },
        current_state: state,
        previous_state: previous,
        occurred_at: new Date(this.#now).toISOString(),
      },
      subscription_id: '01234567-89ab-cdef-0123-456789abcdef',
      event_type: 'transfers#state-change',
      schema_version: '4.0.0',
      sent_at: new Date(this.#now).toISOString(),
    });
    this.outbox.emit({ transferId: t.id, state, body });
  }

  /** One delivery, with its own delivery id, as Wise sends them. */
  async #post(c: StateChange): Promise<void> {
    if (!this.webhookUrl) return;
    const headers = {
      'Content-Type': 'application/json',
      'X-Signature-SHA256': this.sign(c.body),
      'X-Delivery-Id': randomUUID(),
    };
    const status = await postWebhook(this.webhookUrl, headers, c.body);
    this.deliveries.push({ transferId: c.transferId, state: c.state, status });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.requests.push({ method, path, status });
      if (res.destroyed) return;
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    const fault = takeFault(this.faults, method, path);
    if (fault?.kind === 'latency') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'status') {
      return answer(
        fault.status,
        { errors: [{ code: fault.code ?? `http.${fault.status}`, message: 'injected fault' }] },
        fault.headers,
      );
    }
    let status = 200;
    let body: unknown;
    try {
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        throw new WiseError(401, 'unauthorized', 'Invalid token');
      }
      body = this.#route(
        method,
        path,
        url.searchParams,
        chunks.length ? readJson(Buffer.concat(chunks).toString()) : {},
      );
    } catch (err) {
      if (!(err instanceof WiseError)) throw err;
      status = err.status;
      body = { errors: [{ code: err.code, message: err.message, ...(err.path ? { path: err.path } : {}) }] };
    }
    if (fault?.kind === 'timeout_after') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'status_after') {
      return answer(fault.status, {
        errors: [{ code: fault.code ?? `http.${fault.status}`, message: 'injected' }],
      });
    }
    if (fault?.kind === 'unreadable') {
      this.requests.push({ method, path, status: 200 });
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>502 Bad Gateway</html>');
      return;
    }
    answer(status, body);
  }

  #profile(pid: string): void {
    if (Number(pid) !== this.profileId) throw new WiseError(403, 'forbidden', 'Not your profile');
  }

  // biome-ignore lint/suspicious/noExplicitAny: request bodies are validated field by field
  #route(method: string, path: string, q: URLSearchParams, b: any): unknown {
    const at = (verb: string, re: RegExp) => (method === verb ? re.exec(path) : null);
    let m: RegExpExecArray | null = null;
    m = at('GET', /^\/v1\/profiles\/(\d+)$/);
    if (m) {
      this.#profile(m[1]!);
      return { id: this.profileId, type: 'business' };
    }
    m = at('POST', /^\/v3\/profiles\/(\d+)\/quotes$/);
    if (m) {
      this.#profile(m[1]!);
      return this.#quote(b);
    }
    if (path === '/v1/account-requirements' && (method === 'GET' || method === 'POST')) {
      const target = q.get('target') ?? '';
      if (!q.get('source') || !target || !/^\d+(\.\d+)?$/.test(q.get('sourceAmount') ?? '')) {
        throw new WiseError(400, 'NOT_VALID', 'source, target and sourceAmount are required');
      }
      return this.requirementsFor(target, method === 'POST' ? b : undefined);
    }
    m = at('GET', /^\/v4\/profiles\/(\d+)\/balances$/);
    if (m) {
      this.#profile(m[1]!);
      return Object.entries(this.balances).map(([currency, minor], i) => ({
        id: 200 + i,
        currency,
        type: 'STANDARD',
        amount: { value: dec(minor, currency), currency },
      }));
    }
    if (method === 'POST' && path === '/v1/accounts') return this.#recipient(b);
    if (method === 'POST' && path === '/v1/transfers') return this.#view(this.#transfer(b));
    if (method === 'GET' && path === '/v1/transfers') {
      if (Number(q.get('profile')) !== this.profileId)
        throw new WiseError(403, 'forbidden', 'Not your profile');
      const since = q.get('createdDateStart');
      return [...this.transfers.values()]
        .filter((t) => !since || t.created.slice(0, 10) >= since)
        .reverse()
        .slice(Number(q.get('offset') ?? 0), Number(q.get('offset') ?? 0) + Number(q.get('limit') ?? 100))
        .map((t) => this.#view(t));
    }
    m = at('GET', /^\/v1\/transfers\/(\d+)$/);
    if (m) return this.#view(this.#get(m[1]!));
    m = at('PUT', /^\/v1\/transfers\/(\d+)\/cancel$/);
    if (m) {
      const t = this.#get(m[1]!);
      if (!['incoming_payment_waiting', 'processing'].includes(t.status)) {
        throw new WiseError(
          409,
          'transfer.cancellation.not.allowed',
          `Transfer in ${t.status} cannot be cancelled`,
        );
      }
      if (t.funded)
        this.balances[t.quote.source] = (this.balances[t.quote.source] ?? 0n) + t.quote.sourceMinor;
      this.#move(t, 'cancelled');
      return this.#view(t);
    }
    m = at('POST', /^\/v3\/profiles\/(\d+)\/transfers\/(\d+)\/payments$/);
    if (m) {
      this.#profile(m[1]!);
      return this.#fund(this.#get(m[2]!), b);
    }
    throw new WiseError(404, 'not_found', `No route ${method} ${path}`);
  }

  // biome-ignore lint/suspicious/noExplicitAny: validated here
  #quote(b: any): unknown {
    const source = String(b.sourceCurrency ?? '');
    const target = String(b.targetCurrency ?? '');
    if (!/^[A-Z]{3}$/.test(source) || !/^[A-Z]{3}$/.test(target)) {
      throw new WiseError(422, 'NOT_VALID', 'sourceCurrency and targetCurrency are required');
    }
    if (b.targetAmount !== undefined)
      throw new WiseError(422, 'NOT_VALID', 'this fake quotes source amounts');
    const text = String(b.sourceAmount ?? '');
    const mm = /^(\d+)(?:\.(\d{1,2}))?$/.exec(text);
    if (!mm) throw new WiseError(422, 'NOT_VALID', 'sourceAmount must be a positive decimal', 'sourceAmount');
    const sourceMinor = BigInt(mm[1]!) * 100n + BigInt((mm[2] ?? '').padEnd(2, '0') || '0');
    const rate = source === target ? '1' : this.rates[`${source}>${target}`];
    if (!rate) throw new WiseError(422, 'UNSUPPORTED_ROUTE', `No route ${source} → ${target}`);
    const feeMinor = this.fee.fixedMinor + (sourceMinor * this.fee.bps) / 10_000n;
    if (feeMinor >= sourceMinor)
      throw new WiseError(422, 'AMOUNT_TOO_LOW', 'The amount does not cover the fee');
    const [ri, rf = ''] = rate.split('.');
    const rateScaled = BigInt(ri! + rf);
    const targetMinor = ((sourceMinor - feeMinor) * rateScaled) / 10n ** BigInt(rf.length);
    const quote: FakeQuote = {
      id: randomUUID(),
      source,
      target,
      sourceMinor,
      feeMinor,
      targetMinor,
      rate,
      used: false,
    };
    this.quotes.set(quote.id, quote);
    const raw = (t: string) => (JSON as unknown as { rawJSON(t: string): unknown }).rawJSON(t);
    return {
      id: quote.id,
      sourceCurrency: source,
      targetCurrency: target,
      sourceAmount: dec(sourceMinor, source),
      rate: raw(rate),
      rateType: 'FIXED',
      payOut: 'BANK_TRANSFER',
      status: 'PENDING',
      expirationTime: new Date(this.#now + 30 * 60_000).toISOString(),
      paymentOptions: [
        {
          payIn: 'BALANCE',
          payOut: 'BANK_TRANSFER',
          disabled: false,
          sourceAmount: dec(sourceMinor, source),
          targetAmount: dec(targetMinor, target),
          fee: { total: dec(feeMinor, source) },
        },
      ],
    };
  }

  /**
   * The recipient types and fields Wise asks for a target currency (v1.1 shape). With a recipient body (the
   * POST variant) the dynamic fields its values bring are included: address.state for a US address.
   */
  // biome-ignore lint/suspicious/noExplicitAny: a recipient body as POSTed
  requirementsFor(target: string, body?: any): unknown[] {
    const holder = [
      field('Full name of the account holder', 'accountHolderName', { minLength: 2, maxLength: 140 }),
      field('Recipient type', 'legalType', { type: 'radio', valuesAllowed: values('PRIVATE BUSINESS') }),
    ];
    const address = this.addressRequired.has(target)
      ? [
          field('Country', 'address.country', { type: 'select', refreshRequirementsOnChange: true }),
          field('City', 'address.city', { maxLength: 85 }),
          field('Address', 'address.firstLine', { maxLength: 200 }),
          field('Post code', 'address.postCode', { maxLength: 30 }),
          ...(body?.details?.address?.country === 'US'
            ? [field('State', 'address.state', { type: 'select', valuesAllowed: values(US_STATES) })]
            : []),
        ]
      : [];
    if (target === 'EUR') {
      return [
        {
          type: 'iban',
          title: 'IBAN',
          fields: [
            ...holder,
            field('IBAN', 'iban', { validationRegexp: '^[A-Z]{2}\\d{2}[A-Z0-9]{11,30}$' }),
            ...address,
          ],
        },
      ];
    }
    if (target === 'GBP') {
      return [
        {
          type: 'sort_code',
          title: 'Local bank account',
          fields: [
            ...holder,
            field('UK sort code', 'sortCode', { validationRegexp: '^\\d{6}$' }),
            field('Account number', 'accountNumber', { validationRegexp: '^\\d{8}$' }),
            ...address,
          ],
        },
      ];
    }
    if (target === 'USD') {
      return [
        {
          type: 'aba',
          title: 'Local bank account',
          fields: [
            ...holder,
            field('ACH routing number', 'abartn', { validationRegexp: '^\\d{9}$' }),
            field('Account number', 'accountNumber', { validationRegexp: '^\\d{4,17}$' }),
            field('Account type', 'accountType', {
              type: 'radio',
              valuesAllowed: values('CHECKING SAVINGS'),
            }),
            ...address,
          ],
        },
      ];
    }
    return [];
  }

  // biome-ignore lint/suspicious/noExplicitAny: validated here
  #recipient(b: any): unknown {
    const d = b.details ?? {};
    const need = (ok: boolean, field: string) => {
      if (!ok) throw new WiseError(422, 'NOT_VALID', `Please specify ${field}`, `details.${field}`);
    };
    if (Number(b.profile) !== this.profileId) throw new WiseError(403, 'forbidden', 'Not your profile');
    need(typeof b.accountHolderName === 'string' && b.accountHolderName.length > 0, 'accountHolderName');
    if (this.refuseHolder && String(b.accountHolderName).includes(this.refuseHolder)) {
      throw new WiseError(422, 'NOT_VALID', 'Recipient refused by compliance', 'accountHolderName');
    }
    if (b.type === 'iban')
      need(b.currency === 'EUR' && /^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(d.iban ?? ''), 'iban');
    else if (b.type === 'sort_code') {
      need(b.currency === 'GBP' && /^\d{6}$/.test(d.sortCode ?? ''), 'sortCode');
      need(/^\d{8}$/.test(d.accountNumber ?? ''), 'accountNumber');
    } else if (b.type === 'aba') {
      need(b.currency === 'USD' && /^\d{9}$/.test(d.abartn ?? ''), 'abartn');
      need(/^\d{4,17}$/.test(d.accountNumber ?? ''), 'accountNumber');
      need(['CHECKING', 'SAVINGS'].includes(d.accountType), 'accountType');
    } else throw new WiseError(422, 'NOT_VALID', `Unsupported type ${b.type}`, 'type');
    // The same dynamic requirements the account-requirements endpoint publishes: a missing one is refused.
    const req = (
      this.requirementsFor(b.currency, b) as { type: string; fields: { group: RequirementField[] }[] }[]
    ).find((x) => x.type === b.type);
    for (const f of req?.fields.flatMap((x) => x.group) ?? []) {
      const v =
        f.key === 'accountHolderName' ? b.accountHolderName : f.key.split('.').reduce((o, k) => o?.[k], d);
      if (f.required && (v === undefined || v === null || v === '')) {
        throw new WiseError(
          422,
          'NOT_VALID',
          `Please specify ${f.key}`,
          f.key === 'accountHolderName' ? f.key : `details.${f.key}`,
        );
      }
    }
    const r: FakeRecipient = {
      id: this.#seq++,
      currency: b.currency,
      type: b.type,
      accountHolderName: b.accountHolderName,
      details: d,
    };
    this.recipients.set(r.id, r);
    return {
      id: r.id,
      profile: this.profileId,
      currency: r.currency,
      type: r.type,
      accountHolderName: r.accountHolderName,
      active: true,
    };
  }

  // biome-ignore lint/suspicious/noExplicitAny: validated here
  #transfer(b: any): FakeTransfer {
    const ctid = String(b.customerTransactionId ?? '');
    if (!UUID.test(ctid))
      throw new WiseError(422, 'NOT_VALID', 'customerTransactionId must be a UUID', 'customerTransactionId');
    const existing = [...this.transfers.values()].find((t) => t.customerTransactionId === ctid);
    if (existing) return existing; // Wise's idempotency: the same customerTransactionId is the same transfer
    const quote = this.quotes.get(String(b.quoteUuid));
    if (!quote) throw new WiseError(422, 'NOT_VALID', 'Quote not found', 'quoteUuid');
    if (quote.used) throw new WiseError(422, 'NOT_VALID', 'Quote already used', 'quoteUuid');
    const recipient = this.recipients.get(Number(b.targetAccount));
    if (!recipient || recipient.currency !== quote.target) {
      throw new WiseError(422, 'NOT_VALID', 'Recipient not found or in another currency', 'targetAccount');
    }
    quote.used = true;
    const t: FakeTransfer = {
      id: this.#seq++,
      targetAccount: recipient.id,
      quoteUuid: quote.id,
      customerTransactionId: ctid,
      reference: String(b.details?.reference ?? ''),
      status: 'incoming_payment_waiting',
      created: new Date(this.#now).toISOString(),
      funded: false,
      quote,
    };
    this.transfers.set(t.id, t);
    return t;
  }

  // biome-ignore lint/suspicious/noExplicitAny: validated here
  #fund(t: FakeTransfer, b: any): unknown {
    if (b.type !== 'BALANCE') throw new WiseError(422, 'NOT_VALID', 'type must be BALANCE', 'type');
    if (t.funded || t.status !== 'incoming_payment_waiting') {
      throw new WiseError(409, 'transfer.already.funded', `Transfer in ${t.status} cannot be funded`);
    }
    const have = this.balances[t.quote.source] ?? 0n;
    if (have < t.quote.sourceMinor) {
      return { type: 'BALANCE', status: 'REJECTED', errorCode: 'balance.insufficient' };
    }
    this.balances[t.quote.source] = have - t.quote.sourceMinor;
    t.funded = true;
    this.#move(t, 'processing');
    this.#move(t, 'funds_converted');
    if (this.autoSend) this.#move(t, 'outgoing_payment_sent');
    return { type: 'BALANCE', status: 'COMPLETED', errorCode: null };
  }

  #get(id: string): FakeTransfer {
    const t = this.transfers.get(Number(id));
    if (!t) throw new WiseError(404, 'not_found', `Transfer ${id} not found`);
    return t;
  }

  #view(t: FakeTransfer): unknown {
    return {
      id: t.id,
      user: 1,
      targetAccount: t.targetAccount,
      sourceAccount: null,
      quoteUuid: t.quoteUuid,
      status: t.status,
      reference: t.reference,
      rate: (JSON as unknown as { rawJSON(t: string): unknown }).rawJSON(t.quote.rate),
      created: t.created,
      business: this.profileId,
      details: { reference: t.reference },
      hasActiveIssues: false,
      sourceCurrency: t.quote.source,
      sourceValue: dec(t.quote.sourceMinor, t.quote.source),
      targetCurrency: t.quote.target,
      targetValue: dec(t.quote.targetMinor, t.quote.target),
      customerTransactionId: t.customerTransactionId,
    };
  }
}
