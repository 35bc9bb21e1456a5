// Wise Platform payout adapter: quote (source amount fixed) → recipient account (reused by a stored mapping)
// → transfer (customerTransactionId = a UUID derived from the attempt key: Wise's idempotency key) → fund from
// the multi-currency balance. The attempt is journalled before anything is sent (../shared/attempts.ts), and
// each Wise id is kept there, so a retry never creates a second transfer. See README.md beside this file.

import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import type { Database } from '../../db/open.ts';
import { assertSubmittable, defaultCapabilities } from '../capabilities.ts';
import { isProviderError, ProviderError } from '../errors.ts';
import { AttemptJournal, type AttemptRecord, requestHash } from '../shared/attempts.ts';
import { CapabilityLookup, type ProviderReportedCapabilities } from '../shared/capability-lookup.ts';
import { healthOfFailure } from '../shared/http-outcome.ts';
import type { Secret } from '../shared/secrets.ts';
import type {
  CancelResult,
  PayoutProvider,
  ProviderCapabilities,
  ProviderConversion,
  ProviderEvent,
  ProviderHealth,
  ProviderStatus,
  SubmitRequest,
  SubmitResult,
  WebhookHeaders,
} from '../types.ts';
import { WiseClient } from './client.ts';
import { type WiseRecipient, wiseRecipientFor, wiseScale } from './destination.ts';
import { recipientKeyOf, WiseLookups } from './lookups.ts';
import { decimalLiteral, toDecimal, toMinor } from './money.ts';
import {
  describeProblems,
  problemsOf,
  refreshKeysIn,
  type WiseRecipientBody,
  type WiseRequirement,
} from './requirements.ts';
import { outcomesOf, publicKeysOf, statusOf, verifyWiseWebhook } from './webhook.ts';

export interface WiseProviderOptions {
  name: string;
  db: Database;
  profileId: number;
  apiToken: Secret;
  webhookPublicKeys: readonly Secret[];
  /** https://api.wise.com by default (sandbox: https://api.sandbox.transferwise.tech); the fake in tests. */
  apiBase?: string;
  capabilities?: Partial<ProviderCapabilities>;
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** How long the profile's balance currencies are used before health() asks again (ms, default 15 minutes). */
  capabilityTtlMs?: number;
}

/** Wise's defaults here: bank transfers on the batch rail to EUR IBANs, GB sort codes and US ABA accounts. */
export function wiseDefaultCapabilities(o: Partial<ProviderCapabilities> = {}): ProviderCapabilities {
  return defaultCapabilities({
    methods: ['bank_transfer'],
    currencies: ['EUR', 'GBP', 'USD'],
    countries: ['AT', 'BE', 'DE', 'ES', 'FI', 'FR', 'GB', 'IE', 'IT', 'NL', 'PT', 'US'],
    rails: ['batch'],
    cost: { fixedMinor: 50n, bps: 45 },
    priority: 8,
    ...o,
  });
}

/** A Wise transfer as far as this adapter reads it. */
export interface WiseTransfer {
  id: number;
  status: string;
  customerTransactionId?: string;
  targetAccount?: number;
  quoteUuid?: string;
}

interface WiseQuote {
  id: string;
  sourceAmount?: string;
  rate?: string;
  paymentOptions?: {
    payIn: string;
    payOut: string;
    disabled?: boolean;
    disabledReason?: { code?: string; message?: string };
    fee?: { total?: string };
    sourceAmount?: string;
    targetAmount?: string;
  }[];
}

/** States from which Wise still cancels a transfer (before funds_converted). */
const CANCELLABLE = new Set([
  'incoming_payment_waiting',
  'incoming_payment_initiated',
  'waiting_recipient_input_to_proceed',
  'processing',
]);

/** customerTransactionId: a UUID (v5 layout) derived from the profile and the attempt key, stable across retries. */
export function customerTransactionId(profileId: number, key: string): string {
  const h = createHash('sha256').update(`disburse:wise:${profileId}:${key}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export class WiseProvider implements PayoutProvider {
  readonly name: string;
  readonly #client: WiseClient;
  readonly #journal: AttemptJournal;
  readonly #lookups: WiseLookups;
  readonly #profileId: number;
  readonly #token: Secret;
  readonly #keys: KeyObject[];
  readonly #capabilities: CapabilityLookup;
  readonly #timeoutMs: number;

  constructor(o: WiseProviderOptions) {
    this.name = o.name;
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.#client = new WiseClient({
      provider: o.name,
      apiBase: o.apiBase ?? 'https://api.wise.com',
      token: o.apiToken,
      timeoutMs: this.#timeoutMs,
      ...(o.fetch ? { fetch: o.fetch } : {}),
    });
    this.#journal = new AttemptJournal(o.db, o.name);
    this.#lookups = new WiseLookups(o.db, o.name);
    this.#profileId = o.profileId;
    this.#token = o.apiToken;
    this.#keys = publicKeysOf(o.webhookPublicKeys.map((k) => k.reveal()));
    this.#capabilities = new CapabilityLookup({
      configured: wiseDefaultCapabilities(o.capabilities),
      lookup: () => this.#lookupCapabilities(),
      ...(o.capabilityTtlMs !== undefined ? { ttlMs: o.capabilityTtlMs } : {}),
    });
  }

  /** The configured capabilities narrowed to the currencies the profile holds a balance in. */
  capabilities(): ProviderCapabilities {
    return this.#capabilities.current();
  }

  /**
   * A payout is funded from the profile's balance in the payout's currency (the quote's source), so only the
   * currencies of its STANDARD balances (GET /v4/profiles/{id}/balances?types=STANDARD) can be paid out here.
   * Which target accounts a route takes is checked per payee (account requirements, at submission).
   */
  async #lookupCapabilities(): Promise<ProviderReportedCapabilities> {
    const balances = await this.#client.ok<{ currency?: string }[]>(
      'GET',
      `/v4/profiles/${this.#profileId}/balances?types=STANDARD`,
    );
    return {
      currencies: (Array.isArray(balances) ? balances : []).flatMap((b) => (b.currency ? [b.currency] : [])),
    };
  }

  #decline(code: string, message: string): ProviderError {
    return new ProviderError(this.name, 'hard_decline', code, message);
  }

  async #refuseIfVoided(key: string, step: string): Promise<void> {
    if ((await this.#journal.get(key))?.state === 'voided') {
      throw this.#decline('idempotency_key_voided', `attempt ${key} was cancelled before its ${step}`);
    }
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const amountMinor = assertSubmittable(this.name, this.capabilities(), req);
    const source = req.amount.currency;
    const scale = wiseScale(source);
    if (req.amount.scale !== scale) {
      throw this.#decline('invalid_amount', `${source} amounts go to Wise at scale ${scale}`);
    }
    if (amountMinor < 1n) throw this.#decline('invalid_amount', 'amount must be at least 1 minor unit');
    const recipient = wiseRecipientFor(this.name, req.destination);
    const a = req.payee.address;
    const recipientKey = recipientKeyOf(this.#token, [
      String(this.#profileId),
      recipient.currency,
      recipient.type,
      ...Object.entries(recipient.details)
        .sort()
        .map(([k, v]) => `${k}=${v}`),
      req.payee.name,
      ...(a ? [a.line1, a.city, a.postalCode, a.state ?? '', a.country] : []),
    ]);
    const key = req.idempotencyKey;
    const rec = await this.#journal.begin(
      key,
      req.payoutId,
      requestHash([req.payoutId, amountMinor.toString(), source, recipient.currency, recipientKey]),
    );
    if (rec.state === 'failed' || rec.state === 'voided') {
      throw this.#decline('already_failed', `attempt ${key} already ended at Wise (${rec.state})`);
    }

    // 1. The recipient account: the one this instance made for these details before, else a new one.
    const recipientId =
      rec.refs.recipient ??
      (await this.#lookups.recipientFor(recipientKey)) ??
      (await this.#createRecipient(recipient, req.payee, source, toDecimal(amountMinor, scale)));
    await this.#journal.note(key, { refs: { recipient: recipientId, recipientKey } });

    // 2 + 3. Quote and transfer, unless Wise already holds a transfer of this attempt.
    let transfer = await this.#knownTransfer(rec);
    if (!transfer) {
      const quote = await this.#quote(key, source, recipient.currency, amountMinor, scale, recipientId);
      await this.#refuseIfVoided(key, 'transfer was created');
      transfer = await this.#client.ok<WiseTransfer>('POST', '/v1/transfers', {
        targetAccount: Number(recipientId),
        quoteUuid: quote,
        customerTransactionId: customerTransactionId(this.#profileId, key),
        details: { reference: req.payoutId.slice(0, 18) },
      });
      await this.#journal.note(key, { refs: { transfer: String(transfer.id) } });
    }
    const figures = (await this.#journal.get(key))?.refs[`quote:${transfer.quoteUuid}`];
    if (figures) await this.#journal.note(key, { refs: { fx: figures, source: source } });

    // 4. Fund it from the balance (once: Wise answers a second funding with an error).
    const fresh = await this.#journal.get(key);
    if (transfer.status === 'incoming_payment_waiting' && fresh?.refs.funded !== '1') {
      await this.#refuseIfVoided(key, 'transfer was funded');
      await this.#fund(key, transfer);
      transfer = await this.#client.ok<WiseTransfer>('GET', `/v1/transfers/${transfer.id}`);
    }
    const state = statusOf(transfer.status, fresh?.paidAt != null);
    await this.#journal.note(key, { state });
    if (state === 'failed') {
      throw this.#decline(
        `transfer_${transfer.status}`,
        `Wise transfer ${transfer.id} is ${transfer.status}`,
      );
    }
    // A replay of an attempt that paid and was returned since: it did pay (the return is its own event).
    return { state: state === 'pending' ? 'pending' : 'paid', providerRef: String(transfer.id) };
  }

  async #createRecipient(
    r: WiseRecipient,
    payee: SubmitRequest['payee'],
    source: string,
    sourceAmount: string,
  ): Promise<string> {
    const a = payee.address;
    const body: WiseRecipientBody = {
      currency: r.currency,
      type: r.type,
      profile: this.#profileId,
      accountHolderName: payee.name,
      ownedByCustomer: false,
      details: {
        legalType: 'PRIVATE',
        ...r.details,
        // The payee's postal address when the platform keeps one; else its country, all a payee record holds.
        ...(a
          ? {
              address: {
                country: a.country,
                city: a.city,
                firstLine: a.line1,
                postCode: a.postalCode,
                ...(a.state ? { state: a.state } : {}),
              },
            }
          : r.type === 'aba'
            ? { address: { country: payee.country } }
            : {}),
      },
    };
    await this.#checkRequirements(body, source, sourceAmount);
    const account = await this.#client.ok<{ id: number }>('POST', '/v1/accounts', body);
    return String(account.id);
  }

  /**
   * The recipient body against Wise's account requirements for this route (GET /v1/account-requirements,
   * v1.1), refreshed by POSTing the body when it fills a field that changes them (address.country → state).
   * A recipient type the route does not take, or a required field missing or refused: a hard decline naming
   * the fields (nothing is created; the payee's details must change, so retrying cannot help).
   */
  async #checkRequirements(body: WiseRecipientBody, source: string, sourceAmount: string): Promise<void> {
    const route = `/v1/account-requirements?source=${source}&target=${body.currency}&sourceAmount=${sourceAmount}`;
    const v11 = { 'Accept-Minor-Version': '1' };
    let all = await this.#client.ok<WiseRequirement[]>('GET', route, undefined, v11);
    let requirement = Array.isArray(all) ? all.find((x) => x.type === body.type) : undefined;
    if (requirement && refreshKeysIn(requirement, body).length > 0) {
      all = await this.#client.ok<WiseRequirement[]>('POST', route, body, v11);
      requirement = Array.isArray(all) ? all.find((x) => x.type === body.type) : undefined;
    }
    if (!requirement) {
      const types = Array.isArray(all) ? all.map((x) => x.type).join(', ') : '';
      throw this.#decline(
        'recipient_type_unavailable',
        `Wise takes no ${body.type} recipients for ${source}→${body.currency} (it takes: ${types || 'none'})`,
      );
    }
    const problems = problemsOf(requirement, body);
    if (problems.length > 0) {
      throw this.#decline(
        problems.some((p) => p.problem === 'missing') ? 'missing_field' : 'invalid_field',
        `Wise's ${body.type} recipients for ${source}→${body.currency} need other details: ${describeProblems(problems)}. ` +
          "Complete the payee's record (address fields come from the payee's postal address)",
      );
    }
  }

  /**
   * A quote with the SOURCE amount fixed: Wise debits exactly the payout's net from the balance in the wallet
   * currency (= the ledger's provider_clearing leg), takes its fee from it and converts the rest; the payee
   * receives the target amount. The quote's figures are journalled in integer minor units.
   */
  async #quote(
    key: string,
    source: string,
    target: string,
    amountMinor: bigint,
    scale: number,
    recipientId: string,
  ): Promise<string> {
    const q = await this.#client.ok<WiseQuote>('POST', `/v3/profiles/${this.#profileId}/quotes`, {
      sourceCurrency: source,
      targetCurrency: target,
      sourceAmount: decimalLiteral(toDecimal(amountMinor, scale)),
      targetAccount: Number(recipientId),
      payOut: 'BANK_TRANSFER',
      preferredPayIn: 'BALANCE',
    });
    const option = q.paymentOptions?.find((o) => o.payIn === 'BALANCE' && o.payOut === 'BANK_TRANSFER');
    if (!option || option.disabled) {
      const why = option?.disabledReason?.message ?? 'no BALANCE → BANK_TRANSFER option';
      throw this.#decline(option?.disabledReason?.code ?? 'route_unavailable', `${source}→${target}: ${why}`);
    }
    const sourceMinor = toMinor(option.sourceAmount ?? q.sourceAmount ?? '0', scale);
    if (sourceMinor !== amountMinor) {
      throw this.#decline(
        'quote_mismatch',
        `Wise quoted ${sourceMinor} minor units for ${amountMinor} asked`,
      );
    }
    // Kept per quote id: the conversion is the one of the quote the transfer was made with.
    const fee = toMinor(option.fee?.total ?? '0', scale);
    const targetMinor = toMinor(option.targetAmount ?? '0', wiseScale(target));
    await this.#journal.note(key, {
      refs: { [`quote:${q.id}`]: [sourceMinor, fee, targetMinor, target, q.rate ?? '1'].join('|') },
    });
    return q.id;
  }

  async #fund(key: string, transfer: WiseTransfer): Promise<void> {
    let payment: { status?: string; errorCode?: string | null };
    try {
      payment = await this.#client.ok(
        'POST',
        `/v3/profiles/${this.#profileId}/transfers/${transfer.id}/payments`,
        {
          type: 'BALANCE',
        },
      );
    } catch (err) {
      // A refusal may also mean an earlier funding (its answer lost) went through: the transfer says which.
      if (!isProviderError(err) || err.kind !== 'hard_decline') throw err;
      return this.#stopUnfunded(key, transfer, err);
    }
    if (payment.status === 'COMPLETED') {
      await this.#journal.note(key, { refs: { funded: '1' }, state: 'pending' });
      return;
    }
    const code = payment.errorCode ?? 'payment_rejected';
    const why = /insufficient|balance/i.test(code)
      ? new ProviderError(this.name, 'outage', code, `the Wise balance cannot fund transfer ${transfer.id}`)
      : this.#decline(code, `Wise refused to fund transfer ${transfer.id}`);
    return this.#stopUnfunded(key, transfer, why);
  }

  /**
   * Funding refused: cancel the transfer so it can never be funded later, then fail with `why` — a decline
   * then truly means nothing moved. If Wise shows it funded after all, it continues as funded; if it can be
   * neither cancelled nor seen funded, the outcome is unknown (status() resolves it).
   */
  async #stopUnfunded(key: string, transfer: WiseTransfer, why: ProviderError): Promise<void> {
    const cancel = await this.#client.send('PUT', `/v1/transfers/${transfer.id}/cancel`);
    if (cancel.status >= 200 && cancel.status < 300) {
      await this.#journal.note(key, { state: 'failed' });
      throw why;
    }
    const now = await this.#client.ok<WiseTransfer>('GET', `/v1/transfers/${transfer.id}`);
    if (now.status === 'cancelled') {
      await this.#journal.note(key, { state: 'failed' });
      throw why;
    }
    if (now.status !== 'incoming_payment_waiting') {
      await this.#journal.note(key, { refs: { funded: '1' }, state: 'pending' });
      return;
    }
    throw new ProviderError(
      this.name,
      'timeout',
      'funding_unresolved',
      `Wise refused to fund transfer ${transfer.id} and to cancel it (${why.code}); its state decides`,
    );
  }

  /** The transfer of an attempt: by the id journalled, or among recent transfers by customerTransactionId. */
  async #knownTransfer(rec: AttemptRecord): Promise<WiseTransfer | undefined> {
    if (rec.refs.transfer) return this.#client.ok<WiseTransfer>('GET', `/v1/transfers/${rec.refs.transfer}`);
    const ctid = customerTransactionId(this.#profileId, rec.idempotencyKey);
    const since = new Date(rec.createdAt.getTime() - 86_400_000).toISOString().slice(0, 10);
    // Newest first, since the day before the attempt: a busy profile is paged (bounded, 10 × 200).
    let found: WiseTransfer | undefined;
    for (let page = 0; page < 10 && !found; page++) {
      const list = await this.#client.ok<WiseTransfer[]>(
        'GET',
        `/v1/transfers?profile=${this.#profileId}&createdDateStart=${since}&limit=200&offset=${page * 200}`,
      );
      const rows = Array.isArray(list) ? list : [];
      found = rows.find((t) => t.customerTransactionId === ctid);
      if (rows.length < 200) break;
    }
    if (found) await this.#journal.note(rec.idempotencyKey, { refs: { transfer: String(found.id) } });
    return found;
  }

  /** A journal row with nothing at Wise: maybe still in flight until twice the timeout. */
  #mayBeInFlight(rec: AttemptRecord): boolean {
    return (
      (rec.state === 'submitting' || rec.state === 'pending') &&
      Date.now() - rec.createdAt.getTime() < 2 * this.#timeoutMs
    );
  }

  /** The conversion of the quote the attempt's transfer was made with (integer minor units, from the journal). */
  async conversion(idempotencyKey: string): Promise<ProviderConversion | undefined> {
    const refs = (await this.#journal.get(idempotencyKey))?.refs;
    if (!refs?.fx || !refs.source) return undefined;
    const [sourceMinor, fee, targetMinor, target] = refs.fx.split('|') as [string, string, string, string];
    const money = (amount: string, currency: string) => ({ amount, currency, scale: wiseScale(currency) });
    return {
      source: money(sourceMinor, refs.source),
      fee: money(fee, refs.source),
      target: money(targetMinor, target),
    };
  }

  async status(idempotencyKey: string): Promise<ProviderStatus> {
    const rec = await this.#journal.get(idempotencyKey);
    if (!rec) return { state: 'not_found' };
    const t = await this.#knownTransfer(rec);
    if (!t) return this.#mayBeInFlight(rec) ? { state: 'pending' } : { state: 'not_found' };
    const state = statusOf(t.status, rec.paidAt !== null);
    await this.#journal.note(idempotencyKey, { state });
    return {
      state,
      providerRef: String(t.id),
      ...(state === 'failed' || state === 'returned' ? { reason: t.status } : {}),
      ...(state === 'pending' && t.status === 'incoming_payment_waiting' ? { reason: 'not funded yet' } : {}),
    };
  }

  async cancel(idempotencyKey: string): Promise<CancelResult> {
    if (await this.#journal.voidIfUnseen(idempotencyKey)) {
      return { cancelled: true, state: 'not_found', reason: 'voided: never submitted' };
    }
    const rec = (await this.#journal.get(idempotencyKey))!;
    const t = await this.#knownTransfer(rec);
    if (!t) {
      if (this.#mayBeInFlight(rec)) {
        return {
          cancelled: false,
          state: 'pending',
          reason: 'a request to Wise may still be in flight; ask again',
        };
      }
      await this.#journal.note(idempotencyKey, { state: 'voided' });
      return { cancelled: true, state: 'not_found', reason: 'voided: no transfer reached Wise' };
    }
    if (CANCELLABLE.has(t.status)) {
      // Voided first, so a submission still running does not fund the transfer under our feet.
      const before = rec.state;
      await this.#journal.note(idempotencyKey, { state: 'voided' });
      const a = await this.#client.send('PUT', `/v1/transfers/${t.id}/cancel`);
      if (a.status >= 200 && a.status < 300) {
        await this.#journal.note(idempotencyKey, { state: 'failed' });
        return { cancelled: true, state: 'failed', reason: 'cancelled at Wise' };
      }
      await this.#journal.note(idempotencyKey, { state: before === 'voided' ? 'pending' : before });
      if (a.status !== 409 && a.status !== 422) throw this.#client.failure(a, 'PUT /v1/transfers/…/cancel');
    }
    const s = await this.status(idempotencyKey);
    if (s.state === 'failed')
      return { cancelled: true, state: 'failed', ...(s.reason ? { reason: s.reason } : {}) };
    return {
      cancelled: false,
      state: s.state,
      reason:
        s.state === 'pending'
          ? 'funds converted or on their way to the bank: Wise cannot cancel it any more'
          : `already ${s.state}`,
    };
  }

  async parseWebhook(rawBody: Buffer, headers: WebhookHeaders): Promise<ProviderEvent[]> {
    const change = verifyWiseWebhook(rawBody, headers, this.#keys);
    if (!change) return [];
    const key = await this.#lookups.keyOfTransfer(change.transferId);
    if (!key) return []; // a transfer not made by this instance (e.g. one made by hand in Wise)
    const rec = (await this.#journal.get(key))!;
    const events = outcomesOf(change.currentState, change.previousState).map(
      (o): ProviderEvent => ({
        eventId: `wise:${change.transferId}:${o.type}`,
        idempotencyKey: key,
        payoutId: rec.payoutId,
        type: o.type,
        ...(o.reason ? { reason: o.reason } : {}),
        occurredAt: change.occurredAt,
      }),
    );
    const last = events.at(-1);
    if (last)
      await this.#journal.note(key, { state: events.some((e) => e.type === 'paid') ? 'paid' : last.type });
    if (last && last.type !== 'paid') await this.#journal.note(key, { state: last.type });
    return events;
  }

  async health(): Promise<ProviderHealth> {
    try {
      await this.#client.ok('GET', `/v1/profiles/${this.#profileId}`);
      await this.#capabilities.refreshIfStale();
      const lookup = this.#capabilities.lastError;
      return lookup ? { status: 'up', detail: `capability lookup failed: ${lookup}` } : { status: 'up' };
    } catch (err) {
      if (!isProviderError(err)) throw err;
      return healthOfFailure(err);
    }
  }
}
