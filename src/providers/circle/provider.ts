// USDC payouts through Circle (Circle Mint / Core API, official @circle-fin/circle-sdk): one blockchain
// transfer from the platform's Circle wallet to the payee's address on the chosen chain. The attempt is
// journalled before anything is sent (../shared/attempts.ts); Circle's idempotencyKey is a UUIDv5 of the
// attempt key; confirmation by signed notifications (SNS-signed for Circle Mint, X-Circle-Signature for v2) or
// GET /v1/transfers/{id}. See README.md beside this file.
import { Circle } from '@circle-fin/circle-sdk';
import type { Database } from '../../db/open.ts';
import { assertSubmittable, defaultCapabilities } from '../capabilities.ts';
import { isProviderError, ProviderError, WebhookVerificationError } from '../errors.ts';
import { AttemptJournal, type AttemptRecord, requestHash } from '../shared/attempts.ts';
import { CapabilityLookup, type ProviderReportedCapabilities } from '../shared/capability-lookup.ts';
import { healthOfFailure } from '../shared/http-outcome.ts';
import type { Secret } from '../shared/secrets.ts';
import type {
  CancelResult,
  NetworkFeeBearer,
  PayoutProvider,
  ProviderCapabilities,
  ProviderCharge,
  ProviderConversion,
  ProviderEvent,
  ProviderHealth,
  ProviderStatus,
  SubmitRequest,
  SubmitResult,
  WebhookHeaders,
} from '../types.ts';
import { CIRCLE_CURRENCIES, circleMoney, minorOf } from './amount.ts';

import { CIRCLE_CHAINS, parseCircleDestination } from './destination.ts';
import { fromCircleError } from './errors.ts';
import { circleIdempotencyKey } from './idempotency.ts';
import { AttemptLookup, matchHash } from './lookup.ts';
import { SnsVerifier } from './sns.ts';
import {
  CircleKeyStore,
  type CircleTransferObject,
  parseCircleNotification,
  verifyCircleSignature,
} from './webhook.ts';

/** The stablecoin Circle sends for a fiat payout. */
const ASSET_OF: Record<string, string> = { USD: 'USDC', EUR: 'EURC' };
/** The payout currencies a stablecoin pays (its fiat at par, and itself). */
const CURRENCIES_OF: Record<string, string[]> = { USDC: ['USD', 'USDC'], EURC: ['EUR', 'EURC'] };

export interface CircleProviderOptions {
  name: string;
  db: Database;
  apiKey: Secret;
  /** The Circle wallet that pays (the merchant wallet id of the Circle account). */
  walletId: string;
  /** https://api.circle.com by default (sandbox: https://api-sandbox.circle.com); the local fake in tests. */
  apiBase?: string;
  capabilities?: Partial<ProviderCapabilities>;
  /** Notification public keys by key id (base64 DER); others are fetched from Circle when allowed. */
  webhookPublicKeys?: Readonly<Record<string, string>>;
  fetchWebhookKeys?: boolean;
  /**
   * A notification without X-Circle-Signature: `refuse` it (default), or `lookup` — take only its transfer id
   * and ask Circle for the transfer's state (for accounts whose notifications are not signed this way).
   */
  unsignedNotifications?: 'refuse' | 'lookup';
  /** Origins besides Amazon SNS whose SubscribeURL / SigningCertURL are trusted (default: the API base). */
  subscriptionOrigins?: readonly string[];
  /** SNS topics accepted (Circle's subscription ARNs); empty: any topic. */
  snsTopicArns?: readonly string[];
  /** How long Circle's stablecoin list is used before health() asks again (ms, default 15 minutes). */
  capabilityTtlMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Who bears Circle's network fee (default the platform); fixed per attempt when it is first submitted. */
  networkFeeBearer?: NetworkFeeBearer;
}

/** Circle's defaults: crypto payouts of USD (as USDC) or USDC itself, any country, instant (on-chain). */
export function circleDefaultCapabilities(o: Partial<ProviderCapabilities> = {}): ProviderCapabilities {
  return defaultCapabilities({
    methods: ['crypto'],
    currencies: ['USD', 'USDC'],
    rails: ['instant', 'batch'],
    cost: { fixedMinor: 0n, bps: 0 },
    priority: 5,
    ...o,
  });
}

type State = 'pending' | 'paid' | 'failed' | 'returned';

export class CircleProvider implements PayoutProvider {
  readonly name: string;
  readonly #circle: Circle;
  readonly #journal: AttemptJournal;
  readonly #lookup: AttemptLookup;
  readonly #capabilities: CapabilityLookup;
  /** Chains per stablecoin from Circle's GET /v1/stablecoins (undefined until Circle answered). */
  #chains: Record<string, readonly string[]> | undefined;
  readonly #sns: SnsVerifier;
  readonly #walletId: string;
  readonly #timeoutMs: number;
  readonly #keys: CircleKeyStore;
  readonly #apiBase: string;
  readonly #apiKey: Secret;
  readonly #fetch: typeof fetch;
  readonly #subscriptionOrigins: readonly string[];
  readonly #unsigned: 'refuse' | 'lookup';
  readonly #feeBearer: NetworkFeeBearer;

  constructor(o: CircleProviderOptions) {
    this.name = o.name;
    this.#apiBase = (o.apiBase ?? 'https://api.circle.com').replace(/\/$/, '');
    this.#apiKey = o.apiKey;
    this.#circle = new Circle(o.apiKey.reveal(), this.#apiBase);
    this.#journal = new AttemptJournal(o.db, o.name);
    this.#lookup = new AttemptLookup(o.db, o.name);
    const configured = circleDefaultCapabilities(o.capabilities);
    this.#capabilities = new CapabilityLookup({
      configured,
      lookup: () => this.#lookupCapabilities(),
      ...(o.capabilityTtlMs !== undefined ? { ttlMs: o.capabilityTtlMs } : {}),
    });
    for (const c of configured.currencies) {
      if (!CIRCLE_CURRENCIES.includes(c)) throw new Error(`provider "${o.name}" (circle): cannot pay ${c}`);
    }
    this.#walletId = o.walletId;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.#fetch = o.fetch ?? fetch;
    this.#unsigned = o.unsignedNotifications ?? 'refuse';
    this.#feeBearer = o.networkFeeBearer ?? 'platform';
    this.#subscriptionOrigins = o.subscriptionOrigins ?? [new URL(this.#apiBase).origin];
    this.#sns = new SnsVerifier({
      trustedOrigins: this.#subscriptionOrigins,
      topicArns: o.snsTopicArns ?? [],
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
    });
    this.#keys = new CircleKeyStore(
      o.webhookPublicKeys ?? {},
      o.fetchWebhookKeys === false ? undefined : (id) => this.#fetchKey(id),
    );
  }

  /** The configured capabilities narrowed to the stablecoins Circle lists (GET /v1/stablecoins). */
  capabilities(): ProviderCapabilities {
    return this.#capabilities.current();
  }

  /**
   * Circle's stablecoins and the chains it issues each on (GET /v1/stablecoins, public; Circle allows one call
   * a minute per IP, so it is cached): the payout currencies are those of the listed stablecoins, and a
   * payout to a chain Circle does not list for its stablecoin is declined before anything is sent.
   */
  async #lookupCapabilities(): Promise<ProviderReportedCapabilities> {
    const list = await this.#call<{ symbol?: string; chains?: { chain?: string }[] }[]>(() =>
      this.#circle.stablecoins.listStablecoins(this.#opts()),
    );
    const chains: Record<string, string[]> = {};
    for (const coin of list) {
      if (!coin.symbol || !CURRENCIES_OF[coin.symbol]) continue;
      chains[coin.symbol] = (coin.chains ?? []).flatMap((c) => (c.chain ? [c.chain] : []));
    }
    this.#chains = chains;
    return { currencies: Object.keys(chains).flatMap((sym) => CURRENCIES_OF[sym]!) };
  }

  /** A chain Circle said it does not carry the payout's stablecoin on: declined, nothing sent. */
  #assertChain(currency: string, chain: string): void {
    const asset = ASSET_OF[currency] ?? currency;
    const chains = this.#chains?.[asset];
    if (!chains || chains.includes(chain)) return;
    const names = Object.entries(CIRCLE_CHAINS)
      .filter(([, code]) => chains.includes(code))
      .map(([n]) => n);
    throw this.#decline(
      'chain_not_supported',
      `Circle lists ${asset} on ${names.join(', ') || 'no chain this adapter knows'}; not on ${chain}`,
    );
  }

  /** Per-request axios options: our timeout (no answer in time = unknown outcome), no redirects. */
  #opts() {
    return { timeout: this.#timeoutMs, maxRedirects: 0 };
  }

  async #call<T>(fn: () => Promise<{ data: { data?: T } }>): Promise<T> {
    let res: { data: { data?: T } };
    try {
      res = await fn();
    } catch (err) {
      throw fromCircleError(this.name, err);
    }
    const data = res.data?.data;
    if (!data || typeof data !== 'object') {
      throw new ProviderError(
        this.name,
        'timeout',
        'unreadable_answer',
        'Circle answered without a data object',
      );
    }
    return data;
  }

  #decline(code: string, message: string): ProviderError {
    return new ProviderError(this.name, 'hard_decline', code, message);
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    assertSubmittable(this.name, this.capabilities(), req);
    const dest = parseCircleDestination(this.name, req.destination);
    this.#assertChain(req.amount.currency, dest.chain);
    const amount = circleMoney(this.name, req.amount);
    if (BigInt(req.amount.amount) < 1n)
      throw this.#decline('invalid_amount', 'amount must be at least 1 minor unit');
    const key = req.idempotencyKey;
    const rec = await this.#journal.begin(
      key,
      req.payoutId,
      requestHash([req.payoutId, amount.amount, amount.currency, dest.chain, dest.address]),
    );
    if (rec.state === 'failed' || rec.state === 'voided') {
      throw this.#decline('already_failed', `attempt ${key} already ended at Circle (${rec.state})`);
    }
    const match = matchHash(amount.amount, amount.currency, dest.chain, dest.address);
    if (rec.refs.match !== match) {
      // What was sent, before it is sent: to find the transfer after a lost answer, and to book the conversion
      // and the network fee on the terms the payout was sent with.
      await this.#journal.note(key, {
        refs: {
          match,
          amount: amount.amount,
          payoutCurrency: req.amount.currency,
          feeBearer: this.#feeBearer,
        },
      });
    }
    const transfer = rec.refs.transfer
      ? await this.#get(rec.refs.transfer)
      : await this.#call(() =>
          this.#circle.transfers.createTransfer(
            {
              idempotencyKey: circleIdempotencyKey(this.name, key),
              source: { type: 'wallet', id: this.#walletId },
              destination: { type: 'blockchain', address: dest.address, chain: dest.chain as 'ETH' },
              amount,
            },
            this.#opts(),
          ),
        );
    const state = await this.#record(key, transfer, rec);
    if (state === 'failed') {
      throw this.#decline(transfer.errorCode ?? 'transfer_failed', `Circle transfer ${transfer.id} failed`);
    }
    return { state: state === 'pending' ? 'pending' : 'paid', providerRef: transfer.id };
  }

  async #get(id: string): Promise<CircleTransferObject> {
    return this.#call(() => this.#circle.transfers.getTransfer(id, undefined, this.#opts()));
  }

  /** Journals the transfer id, its transaction hash, its network fee and the state seen; returns that state. */
  async #record(key: string, t: CircleTransferObject, rec: AttemptRecord | undefined): Promise<State> {
    const state = stateOf(t, rec);
    const fee = t.fees?.find((f) => f.type === 'network');
    await this.#journal.note(key, {
      refs: {
        transfer: t.id,
        ...(t.transactionHash ? { transactionHash: t.transactionHash } : {}),
        ...(fee ? { networkFee: fee.amount, networkFeeCurrency: fee.currency } : {}),
      },
      state,
    });
    return state;
  }

  /**
   * The blockchain network fee Circle charged for the attempt's transfer (its `fees`, type `network`, present
   * once non-zero), in micro-units of the stablecoin the wallet holds (Circle's `USD` is USDC), and who bears
   * it as configured when the attempt was submitted (attempts journalled before the setting: the platform).
   */
  async charges(idempotencyKey: string): Promise<ProviderCharge[]> {
    const rec = await this.#journal.get(idempotencyKey);
    const fee = rec?.refs.networkFee;
    const asset = rec?.refs.networkFeeCurrency ? ASSET_OF[rec.refs.networkFeeCurrency] : undefined;
    const micro = fee ? minorOf(fee, 6) : undefined;
    if (!rec || !asset || micro === undefined || micro === 0n) return [];
    return [
      {
        kind: 'network_fee',
        amount: { amount: micro.toString(), currency: asset, scale: 6 },
        ...(rec.refs.transactionHash ? { reference: rec.refs.transactionHash } : {}),
        bearer: rec.refs.feeBearer === 'payee' ? 'payee' : 'platform',
      },
    ];
  }

  /** The transfer of an attempt: by id, or among the wallet's transfers since the attempt by what was sent. */
  async #remote(rec: AttemptRecord): Promise<CircleTransferObject | undefined> {
    if (rec.refs.transfer) return this.#get(rec.refs.transfer);
    if (!rec.refs.match) return undefined; // journalled, never sent
    const from = new Date(rec.createdAt.getTime() - 60_000).toISOString();
    const candidates: CircleTransferObject[] = [];
    let pageAfter: string | undefined;
    for (let page = 0; page < 20; page++) {
      const list = await this.#call<CircleTransferObject[]>(() =>
        this.#circle.transfers.listTransfers(
          undefined,
          this.#walletId,
          undefined,
          undefined,
          from,
          undefined,
          undefined,
          pageAfter,
          50,
          this.#opts(),
        ),
      );
      for (const t of list) {
        const d = t.destination;
        if (d?.type !== 'blockchain' || !t.amount || !d.address || !d.chain) continue;
        if (matchHash(t.amount.amount, t.amount.currency, d.chain, d.address) === rec.refs.match)
          candidates.push(t);
      }
      if (list.length < 50) break;
      pageAfter = list[list.length - 1]!.id;
    }
    const claimed = await this.#lookup.claimed(candidates.map((t) => t.id));
    const free = candidates.filter((t) => !claimed.has(t.id));
    // Oldest unclaimed first: two attempts of the same amount to the same address bind in order.
    free.sort((a, b) => (a.createDate ?? '').localeCompare(b.createDate ?? ''));
    return free[0];
  }

  #mayBeInFlight(rec: AttemptRecord): boolean {
    return rec.state === 'submitting' && Date.now() - rec.createdAt.getTime() < 2 * this.#timeoutMs;
  }

  async status(idempotencyKey: string): Promise<ProviderStatus> {
    const rec = await this.#journal.get(idempotencyKey);
    if (!rec) return { state: 'not_found' };
    if (rec.state === 'voided') return { state: 'not_found', reason: 'voided' };
    const t = await this.#remote(rec);
    if (!t) return this.#mayBeInFlight(rec) ? { state: 'pending' } : { state: 'not_found' };
    const state = await this.#record(idempotencyKey, t, rec);
    return {
      state,
      providerRef: t.id,
      ...(state === 'failed' || state === 'returned' ? { reason: t.errorCode ?? 'transfer_failed' } : {}),
    };
  }

  async cancel(idempotencyKey: string): Promise<CancelResult> {
    if (await this.#journal.voidIfUnseen(idempotencyKey)) {
      return { cancelled: true, state: 'not_found', reason: 'voided: never submitted' };
    }
    const rec = (await this.#journal.get(idempotencyKey))!;
    if (rec.state === 'voided') return { cancelled: true, state: 'not_found', reason: 'voided' };
    const t = await this.#remote(rec);
    if (!t) {
      if (this.#mayBeInFlight(rec)) {
        return {
          cancelled: false,
          state: 'pending',
          reason: 'a request to Circle may still be in flight; ask again',
        };
      }
      await this.#journal.note(idempotencyKey, { state: 'voided' });
      return { cancelled: true, state: 'not_found', reason: 'voided: nothing reached Circle' };
    }
    const state = await this.#record(idempotencyKey, t, rec);
    if (state === 'failed') return { cancelled: true, state, reason: t.errorCode ?? 'transfer_failed' };
    return {
      cancelled: false,
      state,
      reason:
        state === 'pending'
          ? 'a blockchain transfer cannot be cancelled once submitted to Circle'
          : `already ${state} on chain`,
    };
  }

  /**
   * A notification is believed only when signed: by Circle (X-Circle-Signature over the raw body, v2) or by
   * SNS (the SNS message's Signature, Circle Mint). An unsigned one is refused, or with
   * `unsignedNotifications: "lookup"` only its transfer id is used and the transfer asked of Circle.
   */
  async parseWebhook(rawBody: Buffer, headers: WebhookHeaders): Promise<ProviderEvent[]> {
    const n = parseCircleNotification(rawBody);
    let signed = true;
    if (headers['x-circle-signature'] !== undefined || headers['x-circle-key-id'] !== undefined) {
      await verifyCircleSignature(rawBody, headers, this.#keys);
    } else if (n.sns && (n.sns.Signature !== undefined || n.sns.SigningCertURL !== undefined)) {
      await this.#sns.verify(n.sns);
    } else if (this.#unsigned === 'refuse') {
      throw new WebhookVerificationError(
        'missing_signature',
        'the notification is signed neither by SNS (Signature, SigningCertURL) nor by Circle (X-Circle-Signature)',
      );
    } else signed = false;
    if (n.kind === 'subscription') {
      await this.#confirmSubscription(n.subscribeUrl);
      return [];
    }
    let transfer = n.kind === 'transfer' ? n.transfer : undefined;
    if (!signed) {
      // Unsigned: nothing in the body is believed but the transfer id; its state is asked of Circle itself.
      if (!transfer || !/^[0-9a-f-]{36}$/i.test(transfer.id)) return [];
      transfer = await this.#lookupNotified(transfer.id);
      if (!transfer) return [];
    }
    if (!transfer || (transfer.status !== 'complete' && transfer.status !== 'failed')) return [];
    const key = await this.#attemptOf(transfer);
    if (!key) return []; // not a transfer of this instance
    const rec = await this.#journal.get(key);
    if (!rec) return [];
    const state = await this.#record(key, transfer, rec);
    if (state === 'pending') return [];
    return [
      {
        // Per transfer and status: the same transition notified twice (or redelivered) is one event.
        eventId: `circle:${transfer.id}:${state}`,
        idempotencyKey: key,
        payoutId: rec.payoutId,
        type: state,
        ...(state !== 'paid' ? { reason: transfer.errorCode ?? 'transfer_failed' } : {}),
        occurredAt: new Date(
          (n.kind === 'transfer' ? Date.parse(n.timestamp) : Number.NaN) || Date.now(),
        ).toISOString(),
      },
    ];
  }

  /** The transfer as Circle has it (unknown there: undefined); Circle not answering is not a refusal. */
  async #lookupNotified(id: string): Promise<CircleTransferObject | undefined> {
    try {
      return await this.#get(id);
    } catch (err) {
      if (err instanceof ProviderError && err.kind === 'hard_decline') return undefined;
      throw new WebhookVerificationError(
        'verifier_unavailable',
        `could not look transfer ${id} up at Circle`,
      );
    }
  }

  /** The attempt of a notified transfer; a transfer whose create answer we have not recorded yet by match. */
  async #attemptOf(t: CircleTransferObject): Promise<string | undefined> {
    const known = await this.#lookup.byTransfer(t.id);
    if (known) return known;
    const d = t.destination;
    if (t.source?.id !== this.#walletId || !t.amount || !d?.address || !d.chain) return undefined;
    const keys = await this.#lookup.unboundByMatch(
      matchHash(t.amount.amount, t.amount.currency, d.chain, d.address),
    );
    return keys[0];
  }

  /** GETs the SubscribeURL of a subscription confirmation, only at an allowed origin (never an arbitrary URL). */
  async #confirmSubscription(url: string): Promise<void> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new WebhookVerificationError('malformed_body', 'SubscribeURL is not a URL');
    }
    const sns = u.protocol === 'https:' && /^sns\.[a-z0-9-]+\.amazonaws\.com$/.test(u.hostname);
    if (!sns && !this.#subscriptionOrigins.includes(u.origin)) {
      throw new WebhookVerificationError(
        'untrusted_subscription',
        `SubscribeURL at ${u.origin} is not allowed`,
      );
    }
    const res = await this.#fetch(u, { redirect: 'error', signal: AbortSignal.timeout(this.#timeoutMs) });
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok) throw new Error(`subscription confirmation answered HTTP ${res.status}`);
  }

  async #fetchKey(keyId: string): Promise<{ algorithm: string; publicKey: string } | undefined> {
    const res = await this.#fetch(
      `${this.#apiBase}/v2/notifications/publicKey/${encodeURIComponent(keyId)}`,
      {
        headers: { authorization: `Bearer ${this.#apiKey.reveal()}`, accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.#timeoutMs),
      },
    );
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`Circle public key ${keyId}: HTTP ${res.status}`);
    const body = (await res.json()) as { data?: { algorithm?: string; publicKey?: string } };
    if (!body.data?.publicKey) return undefined;
    return { algorithm: body.data.algorithm ?? '', publicKey: body.data.publicKey };
  }

  /**
   * A payout in the wallet's fiat (USD, EUR) left the Circle account as the stablecoin (USDC, EURC) at par:
   * the settlement books it as FX legs on provider clearing, so clearing holds what really left, in the
   * asset. Circle charges no conversion fee on Mint transfers (fee 0). A payout already in the asset: none.
   */
  async conversion(idempotencyKey: string): Promise<ProviderConversion | undefined> {
    const rec = await this.#journal.get(idempotencyKey);
    const from = rec?.refs.payoutCurrency;
    const asset = from ? ASSET_OF[from] : undefined;
    if (!rec?.refs.transfer || !rec.refs.amount || !from || !asset) return undefined;
    const source = minorOf(rec.refs.amount, 2);
    const target = minorOf(rec.refs.amount, 6);
    if (source === undefined || target === undefined) return undefined;
    return {
      source: { amount: source.toString(), currency: from, scale: 2 },
      fee: { amount: '0', currency: from, scale: 2 },
      target: { amount: target.toString(), currency: asset, scale: 6 },
    };
  }

  async health(): Promise<ProviderHealth> {
    try {
      await this.#call(() => this.#circle.balances.listBalances(this.#opts()));
      await this.#capabilities.refreshIfStale();
      const lookup = this.#capabilities.lastError;
      return lookup ? { status: 'up', detail: `capability lookup failed: ${lookup}` } : { status: 'up' };
    } catch (err) {
      if (!isProviderError(err)) throw err;
      return healthOfFailure(err);
    }
  }
}

/** complete → paid; failed → failed, or returned when it was seen paid before (a reorg dropped it). */
function stateOf(t: CircleTransferObject, rec: AttemptRecord | undefined): State {
  if (t.status === 'complete') return 'paid';
  if (t.status === 'failed')
    return rec?.paidAt || rec?.state === 'paid' || rec?.state === 'returned' ? 'returned' : 'failed';
  return 'pending';
}
