// PayPal Payouts adapter (PayPal and Venmo wallets): each attempt is one batch of one item, its
// sender_batch_id and sender_item_id derived from the attempt key and its create call carrying a
// PayPal-Request-Id, so a retry can never pay twice. The attempt is journalled before anything is sent
// (../shared/attempts.ts), with the batch and item ids learned from PayPal's answers and webhooks.
// REST through fetch (./client.ts): the official server SDK has no Payouts API. See README.md beside this file.
import { createHash } from 'node:crypto';
import type { Database } from '../../db/open.ts';
import { assertSubmittable, defaultCapabilities } from '../capabilities.ts';
import { isProviderError, ProviderError, WebhookVerificationError } from '../errors.ts';
import { AttemptJournal, type AttemptRecord, requestHash } from '../shared/attempts.ts';
import { healthOfFailure } from '../shared/http-outcome.ts';
import type { Secret } from '../shared/secrets.ts';
import type {
  CancelResult,
  PayoutProvider,
  ProviderCapabilities,
  ProviderEvent,
  ProviderHealth,
  ProviderStatus,
  SubmitRequest,
  SubmitResult,
  WebhookHeaders,
} from '../types.ts';
import type {
  CreatePayoutRequest,
  CreatePayoutResponse,
  ItemStatus,
  PayoutBatch,
  PayoutItem,
  VerifySignatureResponse,
  WebhookEvent,
} from './api.ts';
import { PaypalClient } from './client.ts';
import { parsePaypalDestination, paypalScale, paypalValue } from './destination.ts';
import { askAgain, duplicateBatchOf, fromPaypalError, scrubReceivers } from './errors.ts';
import {
  type AttemptState,
  attemptStateOf,
  ITEM_EVENTS,
  parseEvent,
  transmissionOf,
  verifyRequestBody,
} from './webhook.ts';

export interface PaypalProviderOptions {
  name: string;
  db: Database;
  clientId: Secret;
  clientSecret: Secret;
  /** Webhook ids of this app's registered webhook (several while moving to a new one). */
  webhookIds: readonly Secret[];
  /** https://api-m.paypal.com by default; https://api-m.sandbox.paypal.com, or the local fake in tests. */
  apiBase?: string;
  capabilities?: Partial<ProviderCapabilities>;
  timeoutMs?: number;
  /** Subject of PayPal's email to the recipient, and the note (Venmo requires one). */
  emailSubject?: string;
  note?: string;
  clock?: () => Date;
  fetch?: typeof fetch;
}

/** PayPal's defaults: wallet payouts in its main currencies; Venmo is checked per destination (US, USD). */
export function paypalDefaultCapabilities(o: Partial<ProviderCapabilities> = {}): ProviderCapabilities {
  return defaultCapabilities({
    methods: ['wallet'],
    currencies: ['USD', 'EUR', 'GBP', 'CAD', 'AUD'],
    cost: { fixedMinor: 25n, bps: 200 },
    priority: 6,
    ...o,
  });
}

/** sender_item_id: the attempt key when it fits PayPal's length, else a digest of it. */
export function senderItemId(key: string): string {
  return key.length <= 63 ? key : `k_${createHash('sha256').update(key).digest('base64url').slice(0, 43)}`;
}

type Remote = { batch?: PayoutBatch; item?: PayoutItem };

export class PaypalProvider implements PayoutProvider {
  readonly name: string;
  readonly #client: PaypalClient;
  readonly #journal: AttemptJournal;
  readonly #capabilities: ProviderCapabilities;
  readonly #webhookIds: readonly Secret[];
  readonly #emailSubject: string;
  readonly #note: string;

  constructor(o: PaypalProviderOptions) {
    this.name = o.name;
    this.#client = new PaypalClient({
      provider: o.name,
      apiBase: o.apiBase ?? 'https://api-m.paypal.com',
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      timeoutMs: o.timeoutMs ?? 30_000,
      clock: o.clock ?? (() => new Date()),
      ...(o.fetch ? { fetch: o.fetch } : {}),
    });
    this.#journal = new AttemptJournal(o.db, o.name);
    this.#capabilities = paypalDefaultCapabilities(o.capabilities);
    this.#webhookIds = o.webhookIds;
    this.#emailSubject = o.emailSubject ?? 'You have a payout';
    this.#note = o.note ?? 'Payout';
  }

  capabilities(): ProviderCapabilities {
    return this.#capabilities;
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw fromPaypalError(this.name, err);
    }
  }

  #decline(code: string, message: string): ProviderError {
    return new ProviderError(this.name, 'hard_decline', code, message);
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const amountMinor = assertSubmittable(this.name, this.#capabilities, req);
    const dest = parsePaypalDestination(this.name, req.destination);
    const currency = req.amount.currency;
    const scale = paypalScale(currency);
    if (req.amount.scale !== scale) {
      throw this.#decline('invalid_amount', `${currency} amounts go to PayPal at scale ${scale}`);
    }
    if (amountMinor < 1n) throw this.#decline('invalid_amount', 'amount must be at least 1 minor unit');
    if (dest.wallet === 'VENMO' && (currency !== 'USD' || req.payee.country !== 'US')) {
      throw this.#decline('invalid_destination', 'Venmo pays USD to US recipients only');
    }
    const key = req.idempotencyKey;
    const value = paypalValue(amountMinor, scale);
    const rec = await this.#journal.begin(
      key,
      req.payoutId,
      requestHash([req.payoutId, value, currency, dest.wallet, dest.recipientType, dest.receiver]),
    );
    if (rec.state === 'failed' || rec.state === 'voided') {
      throw this.#decline('already_failed', `attempt ${key} already ended at PayPal (${rec.state})`);
    }
    let batchId = rec.refs.batch;
    if (!batchId) {
      const body: CreatePayoutRequest = {
        sender_batch_header: {
          sender_batch_id: key,
          recipient_type: dest.recipientType,
          email_subject: this.#emailSubject,
        },
        items: [
          {
            recipient_type: dest.recipientType,
            amount: { value, currency },
            receiver: dest.receiver,
            sender_item_id: senderItemId(key),
            recipient_wallet: dest.wallet,
            note: this.#note,
          },
        ],
      };
      batchId = await this.#create(key, body);
      await this.#journal.note(key, { refs: { batch: batchId } });
    }
    const remote = await this.#remote({ ...rec, refs: { ...rec.refs, batch: batchId } });
    const state = await this.#record(key, remote, rec);
    if (state === 'failed') {
      const why = remote.item?.errors?.name ?? remote.batch?.batch_header.batch_status ?? 'FAILED';
      throw this.#decline(
        why.toLowerCase(),
        scrubReceivers(remote.item?.errors?.message ?? `PayPal did not pay the item (${why})`),
      );
    }
    const providerRef = remote.item?.payout_item_id ?? batchId;
    // A replay of an attempt that paid and was refunded since: it did pay (the return is its own event).
    return { state: state === 'paid' || state === 'returned' ? 'paid' : 'pending', providerRef };
  }

  /** POST the batch. A sender_batch_id PayPal has seen is a batch to look up, never a decline. */
  async #create(key: string, body: CreatePayoutRequest): Promise<string> {
    try {
      const res = await this.#client.request<CreatePayoutResponse>('POST', '/v1/payments/payouts', {
        json: JSON.stringify(body),
        requestId: `disburse-${key}`,
      });
      return res.batch_header.payout_batch_id;
    } catch (err) {
      const dup = duplicateBatchOf(err);
      if (typeof dup === 'string') return dup;
      if (dup === null) {
        throw new ProviderError(
          this.name,
          'timeout',
          'sender_batch_id_reused',
          `PayPal already has a batch for ${key} but did not name it; its webhook or a status check will`,
        );
      }
      throw askAgain(
        this.name,
        fromPaypalError(this.name, err),
        'sent again with the same sender_batch_id, which PayPal pays at most once',
      );
    }
  }

  /** The batch (by id) and our item in it (by id when known, else by sender_item_id). */
  async #remote(rec: AttemptRecord): Promise<Remote> {
    try {
      return await this.#lookup(rec);
    } catch (err) {
      throw askAgain(this.name, fromPaypalError(this.name, err), 'a lookup, asked again');
    }
  }

  async #lookup(rec: AttemptRecord): Promise<Remote> {
    if (rec.refs.item) {
      const item = await this.#call(() =>
        this.#client.request<PayoutItem>(
          'GET',
          `/v1/payments/payouts-item/${encodeURIComponent(rec.refs.item!)}`,
        ),
      );
      return { item };
    }
    if (!rec.refs.batch) return {};
    const batch = await this.#call(() =>
      this.#client.request<PayoutBatch>('GET', `/v1/payments/payouts/${encodeURIComponent(rec.refs.batch!)}`),
    );
    const mine = senderItemId(rec.idempotencyKey);
    const item = batch.items?.find((i) => i.payout_item.sender_item_id === mine);
    return { batch, ...(item ? { item } : {}) };
  }

  /** The attempt's state from what PayPal holds, journalled (ids, state; the first paid stamps paidAt). */
  async #record(key: string, remote: Remote, rec: AttemptRecord): Promise<AttemptState> {
    let state: AttemptState;
    if (remote.item) state = attemptStateOf(remote.item.transaction_status, rec.paidAt !== null);
    else state = remote.batch?.batch_header.batch_status === 'DENIED' ? 'failed' : 'pending';
    // A webhook or an earlier status may already know more (e.g. a refund): never step back from paid.
    if (rec.state === 'returned' && (state === 'paid' || state === 'pending')) state = 'returned';
    await this.#journal.note(key, {
      refs: {
        ...(remote.batch ? { batch: remote.batch.batch_header.payout_batch_id } : {}),
        ...(remote.item ? { item: remote.item.payout_item_id, batch: remote.item.payout_batch_id } : {}),
      },
      state,
    });
    return state;
  }

  async status(idempotencyKey: string): Promise<ProviderStatus> {
    const rec = await this.#journal.get(idempotencyKey);
    if (!rec || rec.state === 'voided') return { state: 'not_found' };
    if (!rec.refs.batch && !rec.refs.item) {
      // Journalled, but PayPal's answer was lost: only a retry of the submission or PayPal's webhook names
      // the batch. It may exist, so it is pending, never not_found.
      return { state: 'pending', reason: 'submitted; PayPal has not named its batch yet' };
    }
    const remote = await this.#remote(rec);
    const state = await this.#record(idempotencyKey, remote, rec);
    const providerRef = remote.item?.payout_item_id ?? rec.refs.batch;
    const ref = providerRef ? { providerRef } : {};
    if (state === 'unclaimed') {
      return {
        state: 'pending',
        ...ref,
        reason:
          'unclaimed: PayPal holds the money until the recipient claims it, or returns it after 30 days',
      };
    }
    if (state === 'failed' || state === 'returned') {
      const st = remote.item?.transaction_status ?? remote.batch?.batch_header.batch_status ?? 'FAILED';
      const why = remote.item?.errors?.name ? `${st}: ${remote.item.errors.name}` : st;
      return { state, ...ref, reason: why };
    }
    return { state, ...ref };
  }

  async cancel(idempotencyKey: string): Promise<CancelResult> {
    if (await this.#journal.voidIfUnseen(idempotencyKey)) {
      return { cancelled: true, state: 'not_found', reason: 'voided: never submitted' };
    }
    const rec = (await this.#journal.get(idempotencyKey))!;
    if (!rec.refs.batch && !rec.refs.item) {
      return {
        cancelled: false,
        state: 'pending',
        reason: 'the submission may have reached PayPal and its batch is not known yet; ask again',
      };
    }
    const remote = await this.#remote(rec);
    const state = await this.#record(idempotencyKey, remote, rec);
    if (state === 'unclaimed' && remote.item) {
      const itemId = remote.item.payout_item_id;
      try {
        await this.#call(() =>
          this.#client.request<PayoutItem>(
            'POST',
            `/v1/payments/payouts-item/${encodeURIComponent(itemId)}/cancel`,
          ),
        );
      } catch (err) {
        if (!isProviderError(err) || err.kind !== 'hard_decline') throw err;
        // Refused: claimed (or returned) meanwhile. Answer from its current state.
        return this.#cancelAnswer(idempotencyKey);
      }
      await this.#journal.note(idempotencyKey, { state: 'failed' });
      return {
        cancelled: true,
        state: 'failed',
        reason: 'cancelled while unclaimed: returned to the PayPal balance',
      };
    }
    return this.#cancelAnswer(idempotencyKey);
  }

  async #cancelAnswer(key: string): Promise<CancelResult> {
    const s = await this.status(key);
    if (s.state === 'failed')
      return { cancelled: true, state: 'failed', ...(s.reason ? { reason: s.reason } : {}) };
    const why =
      s.state === 'pending'
        ? 'PayPal cancels only unclaimed items; this one is being processed'
        : `already ${s.state}`;
    return { cancelled: false, state: s.state, reason: why };
  }

  async parseWebhook(rawBody: Buffer, headers: WebhookHeaders): Promise<ProviderEvent[]> {
    const transmission = transmissionOf(headers, [this.#client.origin]);
    const event = parseEvent(rawBody);
    if (this.#webhookIds.length === 0) {
      throw new WebhookVerificationError('not_configured', 'no PayPal webhook id configured');
    }
    let verified = false;
    for (const id of this.#webhookIds) {
      let res: VerifySignatureResponse;
      try {
        res = await this.#client.request<VerifySignatureResponse>(
          'POST',
          '/v1/notifications/verify-webhook-signature',
          { json: verifyRequestBody(transmission, id.reveal(), rawBody) },
        );
      } catch (err) {
        const e = fromPaypalError(this.name, err);
        throw new WebhookVerificationError(
          'verifier_unavailable',
          `PayPal could not verify the event now: ${e.message}`,
        );
      }
      if (res.verification_status === 'SUCCESS') {
        verified = true;
        break;
      }
    }
    if (!verified) {
      throw new WebhookVerificationError(
        'invalid_signature',
        'PayPal did not verify the transmission signature for any configured webhook id',
      );
    }
    return this.#eventsOf(event);
  }

  /** Item events of our attempts → provider events; a denied batch fails its item. Others: journal only. */
  async #eventsOf(event: WebhookEvent): Promise<ProviderEvent[]> {
    const r = event.resource ?? {};
    const occurredAt = event.create_time ?? new Date().toISOString();
    if (event.event_type.startsWith('PAYMENT.PAYOUTSBATCH.')) {
      const header = r.batch_header;
      const key = header?.sender_batch_header.sender_batch_id;
      const rec = key ? await this.#journal.get(key) : undefined;
      if (!rec || !header) return [];
      await this.#journal.note(rec.idempotencyKey, { refs: { batch: header.payout_batch_id } });
      if (header.batch_status !== 'DENIED') return [];
      await this.#journal.note(rec.idempotencyKey, { state: 'failed' });
      return [
        {
          eventId: event.id,
          idempotencyKey: rec.idempotencyKey,
          payoutId: rec.payoutId,
          type: 'failed',
          reason: 'batch DENIED',
          occurredAt,
        },
      ];
    }
    const status = ITEM_EVENTS[event.event_type];
    if (!status || !r.sender_batch_id) return [];
    const rec = await this.#journal.get(r.sender_batch_id);
    if (!rec || r.payout_item?.sender_item_id !== senderItemId(rec.idempotencyKey)) return [];
    const state = attemptStateOf(status, rec.paidAt !== null);
    await this.#journal.note(rec.idempotencyKey, {
      refs: {
        ...(r.payout_item_id ? { item: r.payout_item_id } : {}),
        ...(r.payout_batch_id ? { batch: r.payout_batch_id } : {}),
      },
      ...(state === 'pending' ? {} : { state }),
    });
    if (state === 'pending' || state === 'unclaimed') return [];
    const base = {
      eventId: event.id,
      idempotencyKey: rec.idempotencyKey,
      payoutId: rec.payoutId,
      occurredAt,
    };
    if (state === 'paid') return [{ ...base, type: 'paid' }];
    const reason = r.errors?.name ? `${status}: ${r.errors.name}` : status;
    return [{ ...base, type: state === 'returned' ? 'returned' : 'failed', reason }];
  }

  async health(): Promise<ProviderHealth> {
    try {
      await this.#call(() => this.#client.token(true));
      return { status: 'up' };
    } catch (err) {
      if (!isProviderError(err)) throw err;
      return healthOfFailure(err);
    }
  }
}

export type { ItemStatus };
