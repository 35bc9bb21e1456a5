// The payout domain service: every step the payout workflow takes, as plain async functions over the
// ledger, payees, providers and the payout table. Activities (activities/payout.ts) are thin wrappers that
// only translate errors into Temporal failure types. Nothing returned here carries bank data.

import type { EntityManager } from '@mikro-orm/postgresql';
import type {
  PayoutPolicy,
  ReturnOutcome,
  ReturnRequest,
  RoutePlan,
} from '../../workflows/payout-activities.ts';
import { checkCompliance, type SanctionsList } from '../compliance/index.ts';
import { isDataError } from '../db/errors.ts';
import type { Database } from '../db/open.ts';
import { computePayoutBreakdown, computeWithholding, type InstantFeeSchedule } from '../fees/index.ts';
import { PLATFORM } from '../ledger/accounts.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { MoneyWire } from '../money/wire.ts';
import {
  instrumentProvider,
  paidMinor,
  payoutTransitions,
  webhookDeliveryFailures,
} from '../observability/metrics.ts';
import { type DestinationDetails, identifyingParts } from '../payees/destinations.ts';
import { PayeeError, type PayeeService, type PayeeView } from '../payees/index.ts';
import type { DestinationJson, PayeeJson } from '../payees/service.ts';
import type {
  PayoutProvider,
  PostalAddress,
  ProviderCharge,
  PayoutMethod as ProviderMethod,
  ProviderStatus,
} from '../providers/types.ts';
import { assessRisk, type RiskRulesConfig } from '../risk/index.ts';
import {
  decideRail,
  nextPayoutWindow,
  type PayoutCalendar,
  rankInputs,
  rankProviders,
} from '../routing/index.ts';
import { type WebhookOutbox, webhookEventId } from '../webhooks/index.ts';
import {
  conversionRate,
  convertedOf,
  hasNetworkFee,
  isNetworkFee,
  recoverPayeeNetworkFee,
} from './provider-charges.ts';
import { FINAL_STATES, type PayoutInput, type PayoutStateDoc, type Reason } from './state.ts';
import {
  type BreakdownFields,
  type NewPayout,
  type PayoutRecord,
  PayoutStore,
  type RecentActivity,
} from './store.ts';

/** Settings the payout flow needs (from the `payouts` configuration section). */
export interface PayoutSettings {
  /** Per currency, minor units: above `single` one approver, above `dual` two distinct approvers. */
  approvalThresholds: Record<string, { single: bigint; dual: bigint }>;
  approvalTimeoutMs: number;
  escalationTimeoutMs: number;
  complianceWaitMs: number;
  confirmationPollMs: number;
  confirmationDeadlineMs: number;
  unknownOutcomeDeadlineMs: number;
  reviewRecheckMs: number;
  providerOutageRetryMs: number;
  providerOutageDeadlineMs: number;
  /** Unused: the workflow ends at paid and returns go through the return path (kept until config drops it). */
  returnWindowMs?: number;
  /** Per currency, inclusive, minor units; a currency without an entry has no instant payouts. */
  instantLimits: Record<string, bigint>;
  instantFees: InstantFeeSchedule;
  withholdingBps: number;
  calendar: PayoutCalendar;
  risk: RiskRulesConfig;
}

export interface ProviderLookup {
  get(name: string): PayoutProvider | undefined;
  all(): readonly PayoutProvider[];
}

export interface PayoutServiceDeps {
  db: Database;
  ledger: Ledger;
  payees: PayeeService;
  providers: ProviderLookup;
  outbox: WebhookOutbox;
  sanctions: SanctionsList;
  settings: PayoutSettings;
  now?: () => Date;
}

export class PayoutNotFound extends Error {
  readonly code = 'payout_not_found';
  constructor(id: string) {
    super(`payout ${id} does not exist`);
    this.name = 'PayoutNotFound';
  }
}

/** The payout's row is final: a run started again (after retention deleted the one that ended it) stops here. */
export class PayoutAlreadyFinal extends Error {
  readonly code = 'payout_already_final';
  constructor(id: string, state: string) {
    super(`payout ${id} is already ${state}; this run ends without doing anything`);
    this.name = 'PayoutAlreadyFinal';
  }
}

export class UnknownProvider extends Error {
  readonly code = 'unknown_provider';
  constructor(name: string) {
    super(
      `provider ${name} is not configured; enable it in DISBURSE_PROVIDERS or resolve the payout manually`,
    );
    this.name = 'UnknownProvider';
  }
}

/** Destination kind that carries each payout method. */
export const destinationKindFor = {
  bank_transfer: 'bank_account',
  wallet: 'wallet',
  card: 'card',
  crypto: 'crypto',
} as const;

/**
 * The payee's destination is no longer the one this payout was screened against (changed, added or removed
 * since compliance and risk ran): nothing is submitted, the payout fails and its funds are released.
 */
export class DestinationChanged extends Error {
  readonly code = 'destination_changed';
  constructor(payoutId: string, kind: string) {
    super(
      `the payee's ${kind} destination changed after payout ${payoutId} was screened; nothing was sent and the ` +
        'funds are released. Request a new payout to pay the current destination (it is screened afresh)',
    );
    this.name = 'DestinationChanged';
  }
}

export const ledgerKeys = {
  hold: (payoutId: string) => `payout:${payoutId}:hold`,
  settle: (payoutId: string) => `payout:${payoutId}:settle`,
  release: (payoutId: string) => `payout:${payoutId}:release`,
  returned: (payoutId: string) => `payout:${payoutId}:return`,
  /** The provider's own conversion (PayoutProvider.conversion), booked after the settlement; and its return. */
  fx: (payoutId: string) => `payout:${payoutId}:fx`,
  fxReturned: (payoutId: string) => `payout:${payoutId}:fx-return`,
  /** What the provider charged beside the amount (PayoutProvider.charges: Circle's network fee). */
  networkFee: (payoutId: string) => `payout:${payoutId}:network-fee`,
  /** That fee recovered from the payee's wallet when the payee bears it; and its FX legs into the asset. */
  networkFeePayee: (payoutId: string) => `payout:${payoutId}:network-fee-payee`,
  networkFeePayeeFx: (payoutId: string) => `payout:${payoutId}:network-fee-payee-fx`,
};

export const attemptKey = (payoutId: string, attemptNo: number) => `${payoutId}:${attemptNo}`;

/** Id of a payout's outbox event: one per type and attempt count, unless `eventKey` tells repeats apart. */
export const payoutEventId = (
  event: string,
  status: Pick<PayoutStateDoc, 'payoutId' | 'attempts'>,
  eventKey?: string,
) => webhookEventId(event, status.payoutId, eventKey ?? String(status.attempts.length));

/** The payout row for a workflow input, written once by whoever starts the workflow (API, fan-out waves). */
export function newPayoutFrom(input: PayoutInput): NewPayout {
  return {
    id: input.payoutId,
    payeeId: input.payeeId,
    amount: input.amount.amount,
    currency: input.amount.currency,
    scale: input.amount.scale,
    method: input.method,
    instantRequested: input.instantRequested,
    requestedBy: input.requestedBy.actor,
    requestedRole: input.requestedBy.role,
    ...(input.periodId ? { periodId: input.periodId } : {}),
    ...(input.bulkId ? { bulkId: input.bulkId } : {}),
  };
}

/** The workflow input a payout row was written from (the inverse of `newPayoutFrom`). */
export function payoutInputFrom(record: PayoutRecord): PayoutInput {
  return {
    payoutId: record.id,
    payeeId: record.payeeId,
    amount: { amount: record.amount, currency: record.currency, scale: record.scale },
    method: record.method,
    instantRequested: record.instantRequested,
    requestedBy: {
      actor: record.requestedBy,
      role: record.requestedRole as PayoutInput['requestedBy']['role'],
    },
    ...(record.periodId ? { periodId: record.periodId } : {}),
    ...(record.bulkId ? { bulkId: record.bulkId } : {}),
  };
}

const railFor = (rail: 'instant' | 'scheduled') => (rail === 'instant' ? 'instant' : 'batch');

/** A bank account's postal address as the adapters take it; nothing for other destinations or without one. */
function postalAddressOf(d: DestinationDetails): { address?: PostalAddress } {
  const a = d.kind === 'bank_account' ? d.details.address : undefined;
  if (!a) return {};
  return {
    address: {
      line1: a.line1,
      city: a.city,
      postalCode: a.postalCode,
      ...(a.state !== undefined ? { state: a.state } : {}),
      country: a.country,
    },
  };
}

/**
 * What a fused step has already read, so the steps it chains do not read it again (the payout row is only
 * written by the step that holds it, inside the same local activity).
 */
export interface Preloaded {
  payout?: PayoutRecord;
  payee?: PayeeView;
  /**
   * The payee's row (null: gone) and destinations, read with the payout (PayoutStore.getForScreening): the
   * screening steps take the payee, the screened destination and its risk facts from here.
   */
  screening?: {
    payee: PayeeJson | null;
    destinations: DestinationJson[];
    /** The payee's recent payouts (risk), as of `at`, the time of the read. */
    recent: RecentActivity;
    at: Date;
  };
  /** Set: the steps collect their breakdown here and the fused step writes it once (saveBreakdown). */
  breakdown?: Breakdown;
}

type Breakdown = BreakdownFields;

export function createPayoutService(deps: PayoutServiceDeps) {
  const { db, ledger, payees, providers, outbox, settings } = deps;
  const now = deps.now ?? (() => new Date());
  const store = new PayoutStore(db.schema);

  async function load(payoutId: string): Promise<PayoutRecord> {
    const payout = await store.get(db.em(), payoutId);
    if (!payout) throw new PayoutNotFound(payoutId);
    return payout;
  }

  /**
   * The payout with its payee and destinations (what screening reads), from `pre` or else in one statement,
   * kept in `pre` for the steps after.
   */
  async function loadForScreening(
    payoutId: string,
    pre: Preloaded,
  ): Promise<{ p: PayoutRecord; screening: NonNullable<Preloaded['screening']> }> {
    if (!pre.payout || !pre.screening) {
      const at = now();
      const found = await store.getForScreening(db.em(), payoutId, at);
      if (!found) throw new PayoutNotFound(payoutId);
      pre.payout ??= found.payout;
      const { payee, destinations, recent } = found;
      pre.screening = { payee, destinations, recent, at };
    }
    return { p: pre.payout, screening: pre.screening };
  }

  /** The payee's view from what screening read (PayeeError not_found when the payee is gone). */
  function payeeOf(p: PayoutRecord, pre: Preloaded, screening: NonNullable<Preloaded['screening']>) {
    pre.payee ??= payees.viewOf(p.payeeId, screening.payee, screening.destinations);
    return pre.payee;
  }

  /**
   * A provider that converted the net (Wise: wallet currency → the account's currency) reports it; it is
   * booked as the ledger's FX legs on provider clearing: clearing[source] −(source − fee), fx[source] +,
   * fx[target] −target, clearing[target] +target, at the exact rate target/(source − fee) (no rounding left).
   * The provider's fee stays on clearing[source]: it is what the provider kept.
   */
  /** The provider's own conversion of an attempt (asked before any database transaction opens). */
  async function providerConversion(name: string, key: string) {
    // A provider no longer configured cannot have converted anything we can read: settle as before.
    return providers.get(name)?.conversion?.(key);
  }

  async function bookProviderConversion(
    p: { id: string; currency: string },
    name: string,
    key: string,
    conv: Awaited<ReturnType<typeof providerConversion>>,
    on: Ledger,
  ) {
    if (!conv || conv.target.currency === conv.source.currency) return;
    if (conv.source.currency !== p.currency) {
      throw new Error(
        `provider ${name} converted from ${conv.source.currency}, payout ${p.id} is in ${p.currency}`,
      );
    }
    const converted = convertedOf(conv);
    const target = BigInt(conv.target.amount);
    if (converted <= 0n || target <= 0n) return;
    await on.convertFx({
      owner: PLATFORM,
      accountKind: 'provider_clearing',
      from: { amount: converted.toString(), currency: conv.source.currency, scale: conv.source.scale },
      toCurrency: conv.target.currency,
      rate: conversionRate(conv),
      idempotencyKey: ledgerKeys.fx(p.id),
      metadata: { payoutId: p.id, provider: name, attemptKey: key, providerFee: conv.fee },
    });
  }

  /**
   * A charge the provider took from its balance on top of the payout (Circle's blockchain network fee) left
   * that balance too: provider_clearing[asset] +fee, and the platform's provider_fees[asset] −fee, whoever
   * bears it (recoverPayeeNetworkFee takes it back from the payee when the payee does). It stays booked when the
   * transfer is later returned (the gas was spent). Only for the attempt that paid.
   * `charges`: the provider's word (PayoutProvider.charges), asked before any database transaction opens.
   */
  async function bookProviderCharges(
    p: { id: string },
    name: string,
    key: string,
    charges: Awaited<ReturnType<NonNullable<PayoutProvider['charges']>>>,
    on: Ledger,
  ) {
    const fees = charges.filter(isNetworkFee);
    if (fees.length === 0) return;
    await on.post({
      type: 'payout.network_fee',
      idempotencyKey: ledgerKeys.networkFee(p.id),
      metadata: {
        payoutId: p.id,
        provider: name,
        attemptKey: key,
        references: fees.flatMap((f) => (f.reference ? [f.reference] : [])),
      },
      entries: fees.flatMap((f) => [
        { account: { kind: 'provider_clearing', owner: PLATFORM }, amount: f.amount },
        {
          account: { kind: 'provider_fees', owner: PLATFORM },
          amount: { ...f.amount, amount: (-BigInt(f.amount.amount)).toString() },
        },
      ]),
    });
  }

  /**
   * The charges the provider reports now for an attempt already settled (Circle: a network fee in a later
   * `complete` notification), booked as the settlement books them, by the same keys, each step in its own
   * transaction: whichever of the settlement and the notification comes first books, the other replays.
   * true when the provider reports a fee.
   */
  async function lateCharges(
    p: { id: string; payeeId: string; currency: string },
    name: string,
    key: string,
  ) {
    const charges = (await providers.get(name)?.charges?.(key)) ?? [];
    if (!hasNetworkFee(charges)) return false;
    await bookProviderCharges({ id: p.id }, name, key, charges, ledger);
    await recoverPayeeShare(p, name, key, charges, await providerConversion(name, key));
    return true;
  }

  /** The payee's share of the provider's charges, when the payee bears them (recoverPayeeNetworkFee). */
  function recoverPayeeShare(
    p: { id: string; payeeId: string; currency: string },
    name: string,
    key: string,
    charges: readonly ProviderCharge[],
    conv: Awaited<ReturnType<typeof providerConversion>>,
  ) {
    return recoverPayeeNetworkFee(
      { db, ledger },
      { id: p.id, payeeId: p.payeeId, currency: p.currency, provider: name, key },
      { charges, conv },
      { posting: ledgerKeys.networkFeePayee(p.id), fx: ledgerKeys.networkFeePayeeFx(p.id) },
    );
  }

  /** Writes what the steps of a fused step collected in `pre.breakdown` (nothing when it is empty). */
  async function saveBreakdown(payoutId: string, pre: Preloaded): Promise<void> {
    const fields = pre.breakdown;
    if (!fields || Object.keys(fields).length === 0) return;
    await store.saveBreakdown(db.em(), payoutId, fields);
    pre.breakdown = {};
  }

  /** Fields for the payout's row: written now, or collected for the fused step's one write. */
  async function breakdown(payoutId: string, pre: Preloaded, fields: Breakdown): Promise<void> {
    if (pre.breakdown) Object.assign(pre.breakdown, fields);
    else await store.saveBreakdown(db.em(), payoutId, fields);
  }

  function provider(name: string): PayoutProvider {
    const p = providers.get(name);
    if (!p) throw new UnknownProvider(name);
    return instrumentProvider(p, name);
  }

  const wire = (p: PayoutRecord, amount: bigint | string): MoneyWire => ({
    amount: String(amount),
    currency: p.currency,
    scale: p.scale,
  });

  /**
   * The destination changed since screening. An earlier try of this very attempt may already have reached the
   * provider (with the screened destination): stop it there, voiding the key if the provider never saw it.
   * Only when nothing can be disbursed under the key is the change refused; otherwise the attempt follows
   * what the provider holds.
   */
  async function refuseChangedDestination(
    p: PayoutRecord,
    kind: string,
    providerName: string,
    key: string,
  ): Promise<{ state: 'paid' | 'pending'; providerRef: string }> {
    const prov = provider(providerName);
    // Anything but a clear answer leaves the attempt unknown (a plain error: the activity retries, then the
    // workflow resolves it by status checks), never "declined" or "outage", which would fail over.
    const unclear = (why: string) =>
      new Error(
        `${providerName} could not say whether attempt ${key} can still pay (${why}); outcome unknown`,
      );
    let held: ProviderStatus;
    try {
      const stopped = await stopAt(prov, key);
      if (stopped.state === 'not_found' || stopped.state === 'failed')
        throw new DestinationChanged(p.id, kind);
      held = await prov.status(key);
    } catch (err) {
      if (err instanceof DestinationChanged) throw err;
      throw unclear(err instanceof Error ? err.message : String(err));
    }
    if (held.state === 'paid') return { state: 'paid', providerRef: held.providerRef ?? key };
    if (held.state === 'pending') return { state: 'pending', providerRef: held.providerRef ?? key };
    throw unclear(`it answers ${held.state}`);
  }

  /**
   * Cancels the attempt under `key` (PayoutProvider.cancel voids a key the provider never saw) and says where
   * it stands, as status() would: `not_found` (voided) or `failed` (cancelled) = it can never pay; otherwise
   * its state, `pending` when the provider could neither cancel nor void it.
   */
  async function stopAt(prov: PayoutProvider, key: string): Promise<ProviderStatus> {
    const c = await prov.cancel(key);
    const reason = c.reason ? { reason: c.reason } : {};
    if (c.cancelled) return { state: c.state === 'not_found' ? 'not_found' : 'failed', ...reason };
    if (c.state === 'not_found' || c.state === 'failed') {
      return { state: 'pending', reason: `the provider could not cancel or void it: ${c.reason}` };
    }
    return { state: c.state, ...reason };
  }

  /**
   * The state and its webhook event, on `tx` (the caller's transaction). `out.eventId`: the event to
   * deliver; absent when no endpoint is subscribed, so the workflow runs no delivery step for it.
   */
  async function recordIn(tx: EntityManager, status: PayoutStateDoc, event?: string, eventKey?: string) {
    if (!event) return { changed: (await store.saveState(tx, status)).changed, out: {} };
    const id = payoutEventId(event, status, eventKey);
    // One statement: the state and its event (a data-modifying CTE), atomic without a transaction of its own.
    const data = { id, type: event, occurredAt: now(), data: { payout: status } };
    const { changed, enqueued } = await store.saveState(tx, status, {
      event: (first) => outbox.enqueueStatement(data, first),
    });
    return { changed, out: enqueued?.deliver ? { eventId: id } : {} };
  }

  /**
   * The settlement (and the provider's conversion, if it made one); with `record`, the state and its event
   * first, in the same transaction, so the hot platform accounts are locked only at its end.
   */
  async function settle(
    input: { payoutId: string; provider: string; attemptNo: number },
    p: { payeeId: string; amount: string; fee: string; withholding: string; currency: string; scale: number },
    record?: { status: PayoutStateDoc; event: string },
  ): Promise<{ eventId?: string }> {
    const fee = BigInt(p.fee);
    const withholding = BigInt(p.withholding);
    const net = BigInt(p.amount) - fee - withholding;
    const leg = (v: bigint) => ({ amount: v.toString(), currency: p.currency, scale: p.scale });
    const key = attemptKey(input.payoutId, input.attemptNo);
    const conv = await providerConversion(input.provider, key);
    const charges = (await providers.get(input.provider)?.charges?.(key)) ?? [];
    // Counted once: a step run again (a local activity re-executed after a lost workflow task) replays the
    // settlement, and the paid metric must not count it twice.
    let settledNow = false;
    const post = async (on: Ledger) => {
      const settled = await on.settleHold({
        holdKey: ledgerKeys.hold(input.payoutId),
        idempotencyKey: ledgerKeys.settle(input.payoutId),
        legs: {
          ...(net > 0n ? { provider_clearing: leg(net) } : {}),
          ...(fee > 0n ? { fees_revenue: leg(fee) } : {}),
          ...(withholding > 0n ? { tax_withholding: leg(withholding) } : {}),
        },
        metadata: { payoutId: input.payoutId, provider: input.provider, attemptKey: key },
      });
      settledNow = !settled.replayed;
      await bookProviderConversion(
        { id: input.payoutId, currency: p.currency },
        input.provider,
        key,
        conv,
        on,
      );
      await bookProviderCharges({ id: input.payoutId }, input.provider, key, charges, on);
    };
    const recover = () => recoverPayeeShare({ id: input.payoutId, ...p }, input.provider, key, charges, conv);
    // A fee the provider reported while the settlement was being booked (after `charges` was read) is booked
    // after it; one reported later comes with its own notification (bookLateCharges).
    const late = () =>
      hasNetworkFee(charges)
        ? Promise.resolve(false)
        : lateCharges({ id: input.payoutId, ...p }, input.provider, key);
    let recorded: { changed: boolean; out: { eventId?: string } } = { changed: false, out: {} };
    if (!record) await post(ledger);
    else {
      try {
        recorded = await db.em().transactional(async (tx) => {
          const done = await recordIn(tx, record.status, record.event);
          await post(ledger.within(tx));
          return done;
        });
      } catch (error) {
        if (!isDataError(error)) throw error;
        // The state cannot be stored (its text, say), but the money went out all the same: the settlement
        // is booked alone and the step fails for its data reason (the payout goes to review, funds kept).
        await post(ledger);
        await recover();
        await late();
        if (settledNow) paidMinor.inc({ currency: p.currency }, Number(net));
        throw error;
      }
    }
    await recover();
    await late();
    // Doubles in Prometheus: exact up to 2^53 minor units per currency series, the ledger always.
    if (settledNow) paidMinor.inc({ currency: p.currency }, Number(net));
    if (recorded.changed) payoutTransitions.inc({ state: record!.status.state });
    return recorded.out;
  }

  const service = {
    store,
    saveBreakdown,

    /**
     * The payout's policy, from its row. The row is written by whoever started the workflow, never here; one
     * not there yet (its start and its insert race) is PayoutNotFound, which the step retries.
     */
    async preparePayout(
      input: PayoutInput,
      pre: Preloaded = {},
      opts: { reset?: () => Promise<boolean> } = {},
    ): Promise<PayoutPolicy> {
      // The payee and its destinations come with the row: screening, in the same step, reads nothing again.
      const { p } = await loadForScreening(input.payoutId, pre);
      // REJECT_DUPLICATE holds only while Temporal keeps the closed run; the row is the truth after that.
      // An operator's reset re-runs the same run's history and may go on (every step is keyed).
      if (FINAL_STATES.includes(p.state) && !(await opts.reset?.()))
        throw new PayoutAlreadyFinal(p.id, p.state);
      pre.payout = p;
      const thresholds = settings.approvalThresholds[p.currency];
      const amount = BigInt(p.amount);
      // A currency nobody set thresholds for gets the strictest control, never none.
      const approvalsRequired = !thresholds
        ? 2
        : amount > thresholds.dual
          ? 2
          : amount > thresholds.single
            ? 1
            : 0;
      return {
        approvalsRequired,
        ...(thresholds
          ? {}
          : {
              approvalReason: {
                code: 'approval_thresholds_unset',
                message:
                  `no approval thresholds are configured for ${p.currency}, so every ${p.currency} payout needs two ` +
                  'approvers; set APPROVAL_THRESHOLD_SINGLE and APPROVAL_THRESHOLD_DUAL for it',
              },
            }),
        approvalTimeoutMs: settings.approvalTimeoutMs,
        escalationTimeoutMs: settings.escalationTimeoutMs,
        complianceWaitMs: settings.complianceWaitMs,
        confirmationPollMs: settings.confirmationPollMs,
        confirmationDeadlineMs: settings.confirmationDeadlineMs,
        unknownOutcomeDeadlineMs: settings.unknownOutcomeDeadlineMs,
        reviewRecheckMs: settings.reviewRecheckMs,
        providerOutageRetryMs: settings.providerOutageRetryMs,
        providerOutageDeadlineMs: settings.providerOutageDeadlineMs,
      };
    },

    /**
     * Ledger hold for the full amount; throws the ledger's InsufficientFunds when short (nothing held).
     * With `status`, records it in the same database transaction (the hold and its state commit together).
     */
    async reserveFunds(payoutId: string, pre: Preloaded = {}, status?: PayoutStateDoc): Promise<void> {
      const p = pre.payout ?? (await load(payoutId));
      const hold = (on: Ledger) =>
        on.hold({
          payeeId: p.payeeId,
          amount: { amount: p.amount, currency: p.currency, scale: p.scale },
          idempotencyKey: ledgerKeys.hold(payoutId),
          metadata: { payoutId },
        });
      if (!status) {
        await hold(ledger);
        return;
      }
      // A breakdown screening collected before (pre.breakdown) is written with the state, in its statement.
      const fields = pre.breakdown && Object.keys(pre.breakdown).length > 0 ? pre.breakdown : undefined;
      const changed = await db.em().transactional(async (tx) => {
        const saved = await store.saveState(tx, status, { breakdown: fields });
        await hold(ledger.within(tx));
        return saved.changed;
      });
      if (fields) pre.breakdown = {};
      if (changed) payoutTransitions.inc({ state: status.state });
    },

    async checkCompliance(
      payoutId: string,
      pre: Preloaded = {},
    ): Promise<{ blocked: Reason[]; withholding?: MoneyWire }> {
      const { p, screening } = await loadForScreening(payoutId, pre);
      const payee = payeeOf(p, pre, screening);
      const kind = destinationKindFor[p.method];
      let identifiers: string[] = [];
      // The destination screened here is the only one this payout may pay ('' = it had none).
      let screenedFingerprint = '';
      try {
        const { destination, fingerprint } = payees.openDestination(
          p.payeeId,
          kind,
          screening.destinations.find((d) => d.kind === kind),
        );
        identifiers = identifyingParts(destination);
        screenedFingerprint = fingerprint;
      } catch (err) {
        // No destination yet: nothing to screen; routing fails the payout with "no destination".
        if (!(err instanceof PayeeError && err.kind === 'not_found')) throw err;
      }
      const result = checkCompliance(
        {
          kycStatus: payee.kycStatus,
          taxForm:
            payee.taxProfile.form === 'w9' ? 'W9' : payee.taxProfile.form === 'w8ben' ? 'W8BEN' : 'none',
          payeeName: payee.name,
          destinationIdentifiers: identifiers,
        },
        { sanctions: deps.sanctions, withholdingRateBps: settings.withholdingBps },
      );
      const withholding = computeWithholding(BigInt(p.amount), result.withholdingBps);
      await breakdown(payoutId, pre, {
        withholding: withholding.toString(),
        destinationFingerprint: screenedFingerprint,
      });
      pre.payout = { ...p, withholding: withholding.toString(), destinationFingerprint: screenedFingerprint };
      return {
        blocked: result.blocked.map((r) => ({ code: r.code, message: r.message })),
        ...(withholding > 0n ? { withholding: wire(p, withholding) } : {}),
      };
    },

    async assessRisk(payoutId: string, pre: Preloaded = {}): Promise<{ reasons: Reason[] }> {
      // The facts as read with the payout (one snapshot), at the time they were read.
      const { p, screening } = await loadForScreening(payoutId, pre);
      const { recent, at } = screening;
      const destination = payees.riskFactsOf(destinationKindFor[p.method], screening.destinations);
      const assessment = assessRisk(
        {
          amount: { amount: p.amount, currency: p.currency, scale: p.scale },
          recentPayouts24h: { count: recent.count, totalMinor: recent.totalMinor },
          destinationChangedAt: destination?.changedAt ?? null,
          now: at,
          sharedDestinationPayeeCount: destination?.sharedDestinationPayeeCount ?? 0,
          ...(recent.trailingAverageMinor !== undefined
            ? { trailingAverageMinor: recent.trailingAverageMinor }
            : {}),
        },
        settings.risk,
      );
      return { reasons: assessment.reasons.map((r) => ({ code: r.code, message: r.message })) };
    },

    /** Instant when eligible, else the next payout window; candidates ranked for the chosen rail. */
    async planRoute(
      payoutId: string,
      riskClear: boolean,
      at: Date = now(),
      pre: Preloaded = {},
    ): Promise<RoutePlan> {
      const { p, screening } = await loadForScreening(payoutId, pre);
      const payee = payeeOf(p, pre, screening);
      const amountMinor = BigInt(p.amount);
      // Health before capabilities: health() refreshes a provider's own capability lookup.
      const inputs = await rankInputs(providers.all());
      const request = (rail: 'instant' | 'batch') => ({
        method: p.method as ProviderMethod,
        country: payee.country,
        currency: p.currency,
        amountMinor,
        rail,
      });
      const instant = rankProviders(inputs, request('instant'));
      const decision = decideRail({
        instantOptIn: p.instantRequested && payee.payoutPreferences.instantOptIn,
        instantCapable: instant.candidates.length > 0,
        amountMinor,
        instantLimitMinor: settings.instantLimits[p.currency] ?? null,
        riskClear,
      });
      const withholdingBps = BigInt(p.withholding) > 0n ? settings.withholdingBps : 0;
      const fees = computePayoutBreakdown(
        { amount: p.amount, currency: p.currency, scale: p.scale },
        { instant: decision.rail === 'instant', feeSchedule: settings.instantFees, withholdingBps },
      );
      await breakdown(payoutId, pre, {
        fee: fees.instantFee.amount,
        withholding: fees.withholding.amount,
        rail: decision.rail,
      });
      const ranking = decision.rail === 'instant' ? instant : rankProviders(inputs, request('batch'));
      // No candidate only because capable providers are down: worth waiting for, unlike "nobody supports it".
      const allDown =
        ranking.candidates.length === 0 &&
        ranking.excluded.some((e) => e.reasons.every((r) => r.code === 'provider_down'));
      const fee = BigInt(fees.instantFee.amount);
      // Known before any provider is asked: without a destination nothing can be submitted anywhere.
      const kind = destinationKindFor[p.method];
      const hasDestination = payee.destinations.some((d) => d.kind === kind);
      return {
        rail: decision.rail,
        reason: decision.reason,
        ...(decision.rail === 'scheduled'
          ? { windowAt: nextPayoutWindow(at, settings.calendar).toISOString() }
          : {}),
        candidates: hasDestination ? ranking.candidates.map((c) => c.name) : [],
        ...(hasDestination
          ? allDown
            ? {
                unroutable: {
                  code: 'providers_down',
                  message: `every provider that can carry this ${p.method} payout is down`,
                },
                providersDown: true,
              }
            : {}
          : {
              unroutable: {
                code: 'no_destination',
                message: `payee ${p.payeeId} has no ${kind} destination for a ${p.method} payout; funds released`,
              },
            }),
        ...(fee > 0n ? { fee: wire(p, fee) } : {}),
        net: wire(p, fees.net.amount),
      };
    },

    /** Submits the net amount with the attempt's deterministic idempotency key; ProviderError propagates. */
    async submitToProvider(input: {
      payoutId: string;
      provider: string;
      attemptNo: number;
      rail: 'instant' | 'scheduled';
    }) {
      const em = db.em();
      // The payout, its payee's name and country, and the destination of its method in one read.
      const found = await store.getForSubmission(em, input.payoutId, destinationKindFor);
      if (!found) throw new PayoutNotFound(input.payoutId);
      const p = found.payout;
      const payee = { id: p.payeeId, ...(found.holder ?? (await payees.get(em, p.payeeId))) };
      const kind = destinationKindFor[p.method];
      const current = (() => {
        try {
          return payees.openDestination(p.payeeId, kind, found.destination);
        } catch (err) {
          if (err instanceof PayeeError && err.kind === 'not_found') return null;
          throw err;
        }
      })();
      const key = attemptKey(p.id, input.attemptNo);
      // Pay only the destination compliance and risk looked at (null: screened before pinning existed).
      const unchanged =
        current !== null &&
        (p.destinationFingerprint === null || current.fingerprint === p.destinationFingerprint);
      if (!unchanged) return refuseChangedDestination(p, kind, input.provider, key);
      const { destination } = current;
      const net = BigInt(p.amount) - BigInt(p.fee) - BigInt(p.withholding);
      const result = await provider(input.provider).submit({
        idempotencyKey: key,
        payoutId: p.id,
        amount: wire(p, net),
        method: p.method as ProviderMethod,
        rail: railFor(input.rail),
        destination: identifyingParts(destination).join('/'),
        // The account holder's postal address, for rails that ask one (Wise): decrypted with the destination.
        payee: { id: payee.id, country: payee.country, name: payee.name, ...postalAddressOf(destination) },
      });
      return { state: result.state, providerRef: result.providerRef };
    },

    /**
     * The provider's view of an attempt. With `voidIfUnknown`, a key the provider has no record of is voided
     * there (see PayoutProvider.cancel) before `not_found` is answered, so `not_found` then means "can never
     * pay"; when the void fails because the submission landed meanwhile, its state is answered instead.
     */
    async checkProviderStatus(input: {
      payoutId: string;
      provider: string;
      attemptNo: number;
      voidIfUnknown?: boolean;
      cancelAttempt?: boolean;
    }): Promise<ProviderStatus> {
      const p = provider(input.provider);
      const key = attemptKey(input.payoutId, input.attemptNo);
      if (input.cancelAttempt) return stopAt(p, key);
      const status = await p.status(key);
      if (status.state !== 'not_found' || !input.voidIfUnknown) return status;
      const stopped = await stopAt(p, key);
      return stopped.state === 'not_found'
        ? { state: 'not_found', reason: 'unknown to the provider; key voided there, it can never pay' }
        : stopped;
    },

    /** held → provider clearing (net), fees revenue (instant fee), tax withholding: explicit legs. */
    async settlePayout(input: { payoutId: string; provider: string; attemptNo: number }): Promise<void> {
      const p = await load(input.payoutId);
      await settle(input, {
        payeeId: p.payeeId,
        amount: p.amount,
        fee: p.fee,
        withholding: p.withholding,
        currency: p.currency,
        scale: p.scale,
      });
    },

    /**
     * settlePayout and recordPayoutState(status, event) in one database transaction, from the amounts the
     * workflow holds (its status: the fee and withholding its route and screening wrote to the row), so
     * the row is not read again. The ledger refuses legs that do not add up to the hold.
     */
    async settleAndRecord(
      input: { payoutId: string; provider: string; attemptNo: number },
      status: PayoutStateDoc,
      event: string,
    ): Promise<{ eventId?: string }> {
      const { amount } = status;
      const amounts = {
        payeeId: status.payeeId,
        amount: amount.amount,
        fee: status.fee?.amount ?? '0',
        withholding: status.withholding?.amount ?? '0',
        currency: amount.currency,
        scale: amount.scale,
      };
      return settle(input, amounts, { status, event });
    },

    async releaseFunds(payoutId: string, reason: string): Promise<void> {
      const held = await ledger.getTransaction(ledgerKeys.hold(payoutId));
      if (!held) return; // never reserved (e.g. rejected for insufficient funds): nothing to release
      await ledger.releaseHold({
        holdKey: ledgerKeys.hold(payoutId),
        idempotencyKey: ledgerKeys.release(payoutId),
        metadata: { payoutId, reason },
      });
    },

    /** A payout returned after it was paid: the settlement is mirrored back into the payee's wallet. */
    async reversePayout(payoutId: string, reason: string): Promise<void> {
      // The provider's conversion first (its funds come back in the wallet currency), then the settlement.
      // A network fee stays booked: the chain kept it.
      if (await ledger.getTransaction(ledgerKeys.fx(payoutId))) {
        await ledger.reverse({
          transactionKey: ledgerKeys.fx(payoutId),
          idempotencyKey: ledgerKeys.fxReturned(payoutId),
          reason,
          metadata: { payoutId },
        });
      }
      await ledger.reverse({
        transactionKey: ledgerKeys.settle(payoutId),
        idempotencyKey: ledgerKeys.returned(payoutId),
        reason,
        metadata: { payoutId },
      });
    },

    /**
     * The return path: a return of the attempt that paid this payout reverses the settlement (the same ledger
     * key whoever asks) and records `returned` with its `payout.returned` event. Anything else is ignored, and
     * a repeat changes nothing. The caller delivers the event.
     */
    async returnPayout(r: ReturnRequest): Promise<ReturnOutcome> {
      const p = await store.get(db.em(), r.payoutId);
      if (!p) return { outcome: 'ignored', why: 'no such payout' };
      const paid = p.stateDoc.attempts?.find((a) => a.outcome === 'paid');
      if (!paid || paid.idempotencyKey !== r.idempotencyKey || paid.provider !== r.provider) {
        return { outcome: 'ignored', why: 'not the attempt that paid this payout' };
      }
      const eventId = payoutEventId('payout.returned', {
        payoutId: p.id,
        attempts: p.stateDoc.attempts ?? [],
      });
      if (p.state === 'returned') return { outcome: 'already_returned', eventId };
      if (p.state !== 'paid') return { outcome: 'ignored', why: `payout is ${p.state}` };
      await service.reversePayout(p.id, r.reason);
      const status = returnedStatus(p, { code: 'returned', message: r.reason });
      const recorded = await service.recordPayoutState(status, 'payout.returned');
      return { outcome: 'return_recorded', status, ...recorded };
    },

    /**
     * A provider's `paid` event of the attempt a payout was settled for (returned since or not): the charges
     * the provider reports now are booked (lateCharges), whether the payout's workflow still runs or has
     * closed. The settlement's own posting says which attempt paid, and that it committed: a payout not settled
     * yet books them with its settlement. Anything else is ignored.
     */
    async bookLateCharges(r: {
      payoutId: string;
      provider: string;
      idempotencyKey: string;
    }): Promise<{ outcome: 'charges_recorded' | 'ignored'; why?: string }> {
      const ignored = (why: string) => ({ outcome: 'ignored' as const, why });
      if (!providers.get(r.provider)?.charges) return ignored('the provider reports no charges');
      const settled = await ledger.getTransaction(ledgerKeys.settle(r.payoutId));
      if (!settled) return ignored('not settled yet: the settlement books the charges');
      const { attemptKey, provider } = settled.metadata;
      if (attemptKey !== r.idempotencyKey || provider !== r.provider) {
        return ignored('not the attempt that paid this payout');
      }
      const p = await store.get(db.em(), r.payoutId);
      if (!p) return ignored('no such payout');
      const booked = await lateCharges(p, r.provider, r.idempotencyKey);
      return booked ? { outcome: 'charges_recorded' } : ignored('the provider reports no charge');
    },

    /**
     * Commits the workflow's state and its webhook event in one database transaction. `eventKey` tells apart
     * events of one type that can repeat within an attempt (default: the attempt count).
     */
    async recordPayoutState(
      status: PayoutStateDoc,
      event?: string,
      eventKey?: string,
    ): Promise<{ eventId?: string }> {
      // The state and its event are one statement (recordIn): no transaction around it.
      const { changed, out } = await recordIn(db.em(), status, event, eventKey);
      if (changed) payoutTransitions.inc({ state: status.state }); // after the commit: what is durable
      return out;
    },

    async deliverWebhook(eventId: string): Promise<void> {
      await outbox.deliverWebhook(eventId).catch((error: unknown) => {
        const failures = (error as { failures?: unknown[] }).failures;
        webhookDeliveryFailures.inc(Array.isArray(failures) ? failures.length : 1);
        throw error;
      });
    },
  };
  return service;
}

export type PayoutService = ReturnType<typeof createPayoutService>;

/** The status a return commits: the payout's last recorded one, `returned`, with the reason. */
function returnedStatus(payout: PayoutRecord, reason: Reason): PayoutStateDoc {
  const { nextTimer: _none, ...last } = payout.stateDoc;
  return {
    payoutId: payout.id,
    payeeId: payout.payeeId,
    amount: { amount: payout.amount, currency: payout.currency, scale: payout.scale },
    attempts: [],
    approvals: [],
    approvalsRequired: 0,
    ...last,
    state: 'returned',
    reasons: [...(last.reasons ?? []), reason],
  };
}
