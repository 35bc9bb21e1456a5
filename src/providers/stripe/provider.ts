// Stripe Connect payout adapter: a transfer from the platform's balance to the payee's connected account,
// then a payout from that account to its bank account or debit card (standard, or `method: instant`).
// Every request carries an Idempotency-Key derived from the attempt key, and the attempt is journalled
// before anything is sent (../shared/attempts.ts). See README.md beside this file.
import Stripe from 'stripe';
import type { Database } from '../../db/open.ts';
import { assertSubmittable, defaultCapabilities } from '../capabilities.ts';
import { isProviderError, ProviderError, WebhookVerificationError } from '../errors.ts';
import { AttemptJournal, type AttemptRecord, requestHash } from '../shared/attempts.ts';
import { CapabilityLookup, type ProviderReportedCapabilities } from '../shared/capability-lookup.ts';
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
import { parseStripeDestination, stripeScale } from './destination.ts';
import { fromStripeError } from './errors.ts';
import {
  failureReason,
  METADATA,
  noticeOf,
  type StripePayoutNotice,
  verifyStripeWebhook,
} from './webhook.ts';

export interface StripeProviderOptions {
  name: string;
  db: Database;
  secretKey: Secret;
  webhookSecrets: readonly Secret[];
  /** https://api.stripe.com by default; the local fake in tests. */
  apiBase?: string;
  capabilities?: Partial<ProviderCapabilities>;
  webhookToleranceSeconds?: number;
  timeoutMs?: number;
  clock?: () => Date;
  /** How long Stripe's country spec is used before health() asks again (ms, default 15 minutes). */
  capabilityTtlMs?: number;
}

/** Stripe Connect's defaults: a connected account (wallet destination) or its debit card, USD in the US. */
export function stripeDefaultCapabilities(o: Partial<ProviderCapabilities> = {}): ProviderCapabilities {
  return defaultCapabilities({
    methods: ['wallet', 'card'],
    currencies: ['USD'],
    countries: ['US'],
    cost: { fixedMinor: 25n, bps: 25 },
    priority: 5,
    ...o,
  });
}

type Remote = { transfer?: Stripe.Transfer; payout?: Stripe.Payout; account?: string };

export class StripeProvider implements PayoutProvider {
  readonly name: string;
  readonly #stripe: Stripe;
  readonly #journal: AttemptJournal;
  readonly #capabilities: CapabilityLookup;
  readonly #webhookSecrets: readonly Secret[];
  readonly #tolerance: number;
  readonly #timeoutMs: number;
  readonly #clock: () => Date;
  /** Last failure of a background transfer reversal (reclaiming funds of a failed payout). */
  lastBackgroundError: Error | undefined;

  constructor(o: StripeProviderOptions) {
    this.name = o.name;
    const base = new URL(o.apiBase ?? 'https://api.stripe.com');
    this.#timeoutMs = o.timeoutMs ?? 30_000;
    this.#stripe = new Stripe(o.secretKey.reveal(), {
      host: base.hostname,
      port: base.port || (base.protocol === 'http:' ? 80 : 443),
      protocol: base.protocol === 'http:' ? 'http' : 'https',
      // Retries are the payout workflow's (same idempotency key, with backoff, visible in its history).
      maxNetworkRetries: 0,
      timeout: this.#timeoutMs,
      telemetry: false,
      appInfo: { name: 'Disburse' },
    });
    this.#journal = new AttemptJournal(o.db, o.name);
    this.#capabilities = new CapabilityLookup({
      configured: stripeDefaultCapabilities(o.capabilities),
      lookup: () => this.#lookupCapabilities(),
      ...(o.capabilityTtlMs !== undefined ? { ttlMs: o.capabilityTtlMs } : {}),
    });
    this.#webhookSecrets = o.webhookSecrets;
    this.#tolerance = o.webhookToleranceSeconds ?? 300;
    this.#clock = o.clock ?? (() => new Date());
  }

  /** The configured capabilities narrowed to what Stripe's country spec of the platform says it can pay. */
  capabilities(): ProviderCapabilities {
    return this.#capabilities.current();
  }

  /**
   * The platform's country spec (GET /v1/account, then GET /v1/country_specs/{country}): the currencies of the
   * bank accounts Stripe supports there (`supported_bank_account_currencies`) and the payee countries of those
   * accounts. Per payee, the connected account itself is checked at submission (#checkAccount).
   */
  async #lookupCapabilities(): Promise<ProviderReportedCapabilities> {
    const platform = await this.#call(() => this.#stripe.accounts.retrieveCurrent());
    if (!platform.country) return {};
    const spec = await this.#call(() => this.#stripe.countrySpecs.retrieve(platform.country!));
    const byCurrency = spec.supported_bank_account_currencies ?? {};
    return {
      currencies: Object.keys(byCurrency).map((c) => c.toUpperCase()),
      countries: [...new Set(Object.values(byCurrency).flat())].map((c) => c.toUpperCase()),
    };
  }

  /**
   * The payee's connected account as Stripe has it, before any money moves: it must take transfers (capability
   * `transfers` active), have payouts enabled, and for an instant payout hold an external account whose
   * `available_payout_methods` include `instant`. Otherwise a hard decline naming what is missing.
   */
  async #checkAccount(
    dest: { account: string; externalAccount?: string },
    currency: string,
    method: 'standard' | 'instant',
  ): Promise<void> {
    const account = await this.#call(() => this.#stripe.accounts.retrieve(dest.account));
    if (account.capabilities?.transfers !== 'active') {
      throw this.#decline(
        'account_transfers_inactive',
        `the connected account's transfers capability is ${account.capabilities?.transfers ?? 'not requested'}; the payee must finish onboarding at Stripe`,
      );
    }
    if (account.payouts_enabled === false) {
      throw this.#decline(
        'account_payouts_disabled',
        'the connected account cannot receive payouts yet (payouts_enabled is false at Stripe)',
      );
    }
    if (method !== 'instant') return;
    const externals = account.external_accounts?.data ?? [];
    const candidates = dest.externalAccount
      ? externals.filter((e) => e.id === dest.externalAccount)
      : externals.filter((e) => e.currency === currency.toLowerCase());
    if (!candidates.some((e) => e.available_payout_methods?.includes('instant'))) {
      throw this.#decline(
        'instant_payouts_unsupported',
        dest.externalAccount
          ? 'that external account does not take instant payouts at Stripe'
          : `the connected account has no ${currency} external account that takes instant payouts`,
      );
    }
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw fromStripeError(this.name, err);
    }
  }

  #decline(code: string, message: string): ProviderError {
    return new ProviderError(this.name, 'hard_decline', code, message);
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const amountMinor = assertSubmittable(this.name, this.capabilities(), req);
    const dest = parseStripeDestination(this.name, req.destination);
    const currency = req.amount.currency;
    if (req.amount.scale !== stripeScale(currency)) {
      throw this.#decline(
        'invalid_amount',
        `${currency} amounts go to Stripe at scale ${stripeScale(currency)}`,
      );
    }
    if (amountMinor < 1n || amountMinor > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw this.#decline('invalid_amount', 'amount must be between 1 minor unit and 2^53 - 1');
    }
    const key = req.idempotencyKey;
    const method = req.rail === 'instant' ? 'instant' : 'standard';
    const rec = await this.#journal.begin(
      key,
      req.payoutId,
      requestHash([
        req.payoutId,
        amountMinor.toString(),
        currency,
        dest.account,
        dest.externalAccount ?? '',
        method,
      ]),
    );
    if (rec.state === 'failed' || rec.state === 'voided') {
      throw this.#decline('already_failed', `attempt ${key} already ended at Stripe (${rec.state})`);
    }
    const metadata = {
      [METADATA.payoutId]: req.payoutId,
      [METADATA.idempotencyKey]: key,
      [METADATA.provider]: this.name,
    };
    const amount = Number(amountMinor);

    // 0. Nothing moves to an account that cannot take it (checked again by Stripe itself at each step).
    if (!rec.refs.transfer) await this.#checkAccount(dest, currency, method);
    // 1. Platform balance → connected account. Known transfer id: never create again (keys expire at Stripe).
    const transfer = rec.refs.transfer
      ? await this.#call(() => this.#stripe.transfers.retrieve(rec.refs.transfer!))
      : await this.#call(() =>
          this.#stripe.transfers.create(
            {
              amount,
              currency: currency.toLowerCase(),
              destination: dest.account,
              transfer_group: key,
              description: `Disburse payout ${req.payoutId}`,
              metadata,
            },
            { idempotencyKey: `${key}:transfer` },
          ),
        );
    if (transfer.reversed && !rec.refs.payout) {
      throw this.#decline('already_failed', `transfer ${transfer.id} was reversed`);
    }
    await this.#journal.note(key, { refs: { transfer: transfer.id, account: dest.account } });

    // 2. Connected account balance → the payee's bank account or card.
    let payout: Stripe.Payout;
    try {
      if ((await this.#journal.get(key))?.state === 'voided') {
        throw this.#decline(
          'idempotency_key_voided',
          `attempt ${key} was cancelled before its payout was made`,
        );
      }
      payout = rec.refs.payout
        ? await this.#call(() =>
            this.#stripe.payouts.retrieve(rec.refs.payout!, {}, { stripeAccount: dest.account }),
          )
        : await this.#call(() =>
            this.#stripe.payouts.create(
              {
                amount,
                currency: currency.toLowerCase(),
                method,
                ...(dest.externalAccount ? { destination: dest.externalAccount } : {}),
                description: `Disburse payout ${req.payoutId}`,
                metadata,
              },
              { stripeAccount: dest.account, idempotencyKey: `${key}:payout` },
            ),
          );
    } catch (err) {
      // Refused: take the transfer back, so "declined" truly means nothing left the platform.
      if (isProviderError(err) && err.kind === 'hard_decline') {
        await this.#reclaim(key, transfer);
        await this.#journal.note(key, { state: 'failed' });
      }
      throw err;
    }
    const state = await this.#stateOf(payout, rec, dest.account);
    await this.#journal.note(key, { refs: { payout: payout.id }, state });
    if (state === 'failed') {
      await this.#reclaim(key, transfer);
      throw this.#decline(
        payout.failure_code ?? 'payout_failed',
        payout.failure_message ?? `payout ${payout.status}`,
      );
    }
    // A replay of an attempt that paid and was returned since: it did pay (the return is its own event).
    return { state: state === 'pending' ? 'pending' : 'paid', providerRef: payout.id };
  }

  /**
   * pending | paid | failed | returned. Stripe has no "returned" status: a payout the bank sends back goes from
   * `paid` to `failed`. So a `failed` payout is a return exactly when it was paid before — seen by this adapter
   * (the journal's paidAt), said by the event (`data.previous_attributes.status`), or in Stripe's own event log
   * of the account (a `payout.paid` event of this payout; Stripe keeps events 30 days). A `paid` payout whose
   * reversal (`reversed_by`, POST /v1/payouts/:id/reverse) has paid is back on the connected account: returned.
   */
  async #stateOf(
    payout: Stripe.Payout,
    rec: AttemptRecord | undefined,
    account: string | undefined,
    previousStatus?: string,
  ): Promise<'pending' | 'paid' | 'failed' | 'returned'> {
    if (rec?.state === 'returned') return 'returned';
    if (payout.status === 'paid') return (await this.#reversalPaid(payout, account)) ? 'returned' : 'paid';
    if (payout.status === 'failed') {
      return (await this.#wasPaid(payout, rec, account, previousStatus)) ? 'returned' : 'failed';
    }
    if (payout.status === 'canceled') return 'failed';
    return 'pending';
  }

  async #reversalPaid(payout: Stripe.Payout, account: string | undefined): Promise<boolean> {
    const id = typeof payout.reversed_by === 'string' ? payout.reversed_by : payout.reversed_by?.id;
    if (!id || !account) return false;
    const reversal = await this.#call(() =>
      this.#stripe.payouts.retrieve(id, {}, { stripeAccount: account }),
    );
    return reversal.status === 'paid';
  }

  async #wasPaid(
    payout: Stripe.Payout,
    rec: AttemptRecord | undefined,
    account: string | undefined,
    previousStatus: string | undefined,
  ): Promise<boolean> {
    if (rec?.paidAt || previousStatus === 'paid') return true;
    if (!account) return false;
    try {
      let seen = 0;
      for await (const e of this.#stripe.events.list(
        { type: 'payout.paid', created: { gte: payout.created }, limit: 100 },
        { stripeAccount: account },
      )) {
        if ((e.data.object as { id?: string }).id === payout.id) return true;
        // A connected account is one payee's: its payouts since this one are few. Past this, it is not there.
        if (++seen >= 2000) break;
      }
      return false;
    } catch (err) {
      throw fromStripeError(this.name, err);
    }
  }

  /** Reverses the transfer (idempotently), bringing the funds of a payout that did not pay back to the platform. */
  async #reclaim(key: string, transfer: Stripe.Transfer): Promise<void> {
    if (transfer.reversed) return;
    await this.#call(() =>
      this.#stripe.transfers.createReversal(
        transfer.id,
        { metadata: { [METADATA.idempotencyKey]: key } },
        { idempotencyKey: `${key}:reversal` },
      ),
    );
  }

  /** What Stripe holds for an attempt: its transfer (by id, or by transfer_group = key) and payout. */
  async #remote(rec: AttemptRecord): Promise<Remote> {
    const key = rec.idempotencyKey;
    let transfer: Stripe.Transfer | undefined;
    if (rec.refs.transfer) {
      transfer = await this.#call(() => this.#stripe.transfers.retrieve(rec.refs.transfer!));
    } else {
      const list = await this.#call(() => this.#stripe.transfers.list({ transfer_group: key, limit: 10 }));
      transfer = list.data.find((t) => t.metadata?.[METADATA.idempotencyKey] === key);
      if (transfer) await this.#journal.note(key, { refs: { transfer: transfer.id } });
    }
    if (!transfer) return {};
    const account =
      typeof transfer.destination === 'string' ? transfer.destination : transfer.destination?.id;
    if (!account) return { transfer };
    let payout: Stripe.Payout | undefined;
    if (rec.refs.payout) {
      payout = await this.#call(() =>
        this.#stripe.payouts.retrieve(rec.refs.payout!, {}, { stripeAccount: account }),
      );
    } else {
      // Payouts cannot be listed by metadata: a payout whose create answer was lost is found among the recent
      // payouts of the account (created at or after the transfer).
      const list = await this.#call(() =>
        this.#stripe.payouts.list(
          { created: { gte: transfer.created }, limit: 100 },
          { stripeAccount: account },
        ),
      );
      payout = list.data.find((p) => p.metadata?.[METADATA.idempotencyKey] === key);
      if (payout) await this.#journal.note(key, { refs: { payout: payout.id } });
    }
    return { transfer, account, ...(payout ? { payout } : {}) };
  }

  /** No journal row: never sent. A row with nothing at Stripe: still maybe in flight until twice the timeout. */
  #mayBeInFlight(rec: AttemptRecord): boolean {
    return rec.state === 'submitting' && Date.now() - rec.createdAt.getTime() < 2 * this.#timeoutMs;
  }

  async status(idempotencyKey: string): Promise<ProviderStatus> {
    const rec = await this.#journal.get(idempotencyKey);
    if (!rec) return { state: 'not_found' };
    const remote = await this.#remote(rec);
    if (!remote.payout) {
      if (remote.transfer?.reversed)
        return { state: 'failed', providerRef: remote.transfer.id, reason: 'transfer reversed' };
      if (remote.transfer || this.#mayBeInFlight(rec))
        return { state: 'pending', ...(remote.transfer ? { providerRef: remote.transfer.id } : {}) };
      return { state: 'not_found' };
    }
    const state = await this.#stateOf(remote.payout, rec, remote.account);
    await this.#journal.note(idempotencyKey, { state });
    if ((state === 'failed' || state === 'returned') && remote.transfer) {
      this.#inBackground(this.#reclaim(idempotencyKey, remote.transfer));
    }
    const p = remote.payout;
    return {
      state,
      providerRef: p.id,
      ...(state === 'failed' || state === 'returned'
        ? { reason: p.status === 'paid' ? `reversed by ${String(p.reversed_by)}` : failureReason(p) }
        : {}),
    };
  }

  async cancel(idempotencyKey: string): Promise<CancelResult> {
    if (await this.#journal.voidIfUnseen(idempotencyKey)) {
      return { cancelled: true, state: 'not_found', reason: 'voided: never submitted' };
    }
    const rec = (await this.#journal.get(idempotencyKey))!;
    const remote = await this.#remote(rec);
    const p = remote.payout;
    if (!p) {
      if (!remote.transfer) {
        if (this.#mayBeInFlight(rec)) {
          return {
            cancelled: false,
            state: 'pending',
            reason: 'a request to Stripe may still be in flight; ask again',
          };
        }
        await this.#journal.note(idempotencyKey, { state: 'voided' });
        return { cancelled: true, state: 'not_found', reason: 'voided: nothing reached Stripe' };
      }
      // Funds are on the connected account, no payout yet: stop the payout step, then take the funds back.
      await this.#journal.note(idempotencyKey, { state: 'voided' });
      await this.#reclaim(idempotencyKey, remote.transfer);
      return { cancelled: true, state: 'failed', reason: 'cancelled: transfer reversed before any payout' };
    }
    if (p.status === 'pending') {
      try {
        await this.#call(() =>
          this.#stripe.payouts.cancel(
            p.id,
            {},
            { stripeAccount: remote.account!, idempotencyKey: `${idempotencyKey}:cancel` },
          ),
        );
      } catch (err) {
        if (!isProviderError(err) || err.kind !== 'hard_decline') throw err;
        // Refused: it left pending meanwhile. Answer from its current state.
        return this.#cancelAnswer(idempotencyKey);
      }
      await this.#journal.note(idempotencyKey, { state: 'failed' });
      if (remote.transfer) await this.#reclaim(idempotencyKey, remote.transfer);
      return { cancelled: true, state: 'failed', reason: 'cancelled' };
    }
    return this.#cancelAnswer(idempotencyKey);
  }

  async #cancelAnswer(key: string): Promise<CancelResult> {
    const s = await this.status(key);
    if (s.state === 'failed')
      return { cancelled: true, state: 'failed', ...(s.reason ? { reason: s.reason } : {}) };
    const why =
      s.state === 'pending'
        ? 'in transit to the bank: Stripe cannot cancel it any more'
        : `already ${s.state}`;
    return { cancelled: false, state: s.state, reason: why };
  }

  async parseWebhook(rawBody: Buffer, headers: WebhookHeaders): Promise<ProviderEvent[]> {
    const event = verifyStripeWebhook(rawBody, headers, {
      secrets: this.#webhookSecrets.map((s) => s.reveal()),
      toleranceSeconds: this.#tolerance,
      now: this.#clock,
    });
    const notice = noticeOf(this.name, event);
    if (!notice) return [];
    try {
      return await this.#eventsOf(notice, event.id, new Date(event.created * 1000).toISOString());
    } catch (err) {
      if (!isProviderError(err)) throw err;
      // Stripe did not answer the look-up that tells a failure from a return: not a refusal; Stripe redelivers.
      throw new WebhookVerificationError(
        'verifier_unavailable',
        `could not ask Stripe about payout ${notice.payout.id}: ${err.message}`,
      );
    }
  }

  /**
   * The provider events of a payout notice. A paid payout is remembered (its later failure is then a return);
   * the funds of one that did not pay, or came back, are taken back from the connected account in the
   * background, before its own payout schedule could send them anywhere (status() does it too).
   */
  async #eventsOf(n: StripePayoutNotice, eventId: string, occurredAt: string): Promise<ProviderEvent[]> {
    if (n.kind === 'reversal') {
      if (n.type !== 'payout.paid') return [];
      const rec = await this.#journal.findByRef('payout', n.originalPayout);
      if (!rec) return [];
      await this.#journal.note(rec.idempotencyKey, { state: 'returned' });
      this.#inBackground(this.#reclaimByKey(rec.idempotencyKey, 'returned'));
      return [
        {
          eventId,
          idempotencyKey: rec.idempotencyKey,
          payoutId: rec.payoutId,
          type: 'returned',
          reason: `reversed by ${n.payout.id}`,
          occurredAt,
        },
      ];
    }
    const base = { eventId, idempotencyKey: n.idempotencyKey, payoutId: n.payoutId, occurredAt };
    if (n.type === 'payout.paid') {
      await this.#journal.note(n.idempotencyKey, { state: 'paid' });
      return [{ ...base, type: 'paid' }];
    }
    let type: 'failed' | 'returned' = 'failed';
    if (n.type === 'payout.failed') {
      const rec = await this.#journal.get(n.idempotencyKey);
      const account = n.account ?? rec?.refs.account;
      type = (await this.#wasPaid(n.payout, rec, account, n.previousStatus)) ? 'returned' : 'failed';
    }
    this.#inBackground(this.#reclaimByKey(n.idempotencyKey, type));
    return [{ ...base, type, reason: failureReason(n.payout) }];
  }

  async #reclaimByKey(key: string, state: 'failed' | 'returned'): Promise<void> {
    const rec = await this.#journal.get(key);
    if (!rec?.refs.transfer) return;
    await this.#journal.note(key, { state });
    const transfer = await this.#call(() => this.#stripe.transfers.retrieve(rec.refs.transfer!));
    await this.#reclaim(key, transfer);
  }

  readonly #background = new Set<Promise<void>>();

  #inBackground(work: Promise<void>): void {
    const p = work.catch((err: unknown) => {
      this.lastBackgroundError = err as Error;
    });
    this.#background.add(p);
    void p.finally(() => this.#background.delete(p));
  }

  /** Waits for background work started by webhooks and status checks (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background]);
  }

  async health(): Promise<ProviderHealth> {
    try {
      await this.#call(() => this.#stripe.balance.retrieve());
      await this.#capabilities.refreshIfStale();
      const lookup = this.#capabilities.lastError;
      return lookup ? { status: 'up', detail: `capability lookup failed: ${lookup}` } : { status: 'up' };
    } catch (err) {
      if (!isProviderError(err)) throw err;
      return healthOfFailure(err);
    }
  }
}
