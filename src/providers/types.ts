// The one adapter interface every payout provider implements (sandbox, manual, real ones later).
// Money crosses this boundary as { amount: string (integer minor units), currency, scale }; never a float.

export type PayoutMethod = 'bank_transfer' | 'wallet' | 'card' | 'crypto';
export const PAYOUT_METHODS: readonly PayoutMethod[] = ['bank_transfer', 'wallet', 'card', 'crypto'];

/** `instant` settles within seconds; `batch` is collected and settled when the provider runs its batch. */
export type PayoutRail = 'instant' | 'batch';
export const PAYOUT_RAILS: readonly PayoutRail[] = ['instant', 'batch'];

export interface MoneySnapshot {
  /** Integer minor units as a decimal string, e.g. "1050" for 10.50 at scale 2. */
  amount: string;
  /** ISO 4217 code (or a crypto ticker). */
  currency: string;
  scale: number;
}

export interface AmountLimit {
  /** Inclusive, integer minor units. */
  min: bigint;
  /** Inclusive, integer minor units. */
  max: bigint;
}

export interface ProviderCost {
  /** Fixed cost per payout in minor units of the payout currency. */
  fixedMinor: bigint;
  /** Variable cost in basis points (1/100 of a percent) of the payout amount. */
  bps: number;
}

export interface ProviderCapabilities {
  methods: PayoutMethod[];
  currencies: string[];
  /** ISO 3166-1 alpha-2 country codes of the payee the provider can pay. */
  countries: string[];
  rails: PayoutRail[];
  /** Limits per currency; a currency without an entry has no limit. */
  limits: Record<string, AmountLimit>;
  cost: ProviderCost;
  /** Lower number = preferred. */
  priority: number;
}

export interface SubmitRequest {
  /** Deterministic: derived from payout id + attempt number, so a retry re-sends the same key. */
  idempotencyKey: string;
  payoutId: string;
  amount: MoneySnapshot;
  method: PayoutMethod;
  rail: PayoutRail;
  /** Decrypted destination (IBAN, wallet id, card token, crypto address). Only ever built inside an activity. */
  destination: string;
  payee: { id: string; country: string; name: string; address?: PostalAddress };
}

/** A payee's postal address, for rails that ask one of the recipient (Wise on USD routes). */
export interface PostalAddress {
  line1: string;
  city: string;
  postalCode: string;
  /** State, province or region code where the country has them (US: two letters). */
  state?: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

export interface SubmitResult {
  state: 'paid' | 'pending';
  providerRef: string;
}

export type ProviderStatusState = 'not_found' | 'pending' | 'paid' | 'failed' | 'returned';

export interface ProviderStatus {
  state: ProviderStatusState;
  providerRef?: string;
  reason?: string;
}

export interface CancelResult {
  /** true when the payout will certainly not be disbursed (it was still queued/pending). */
  cancelled: boolean;
  state: ProviderStatusState;
  reason?: string;
}

export type ProviderEventType = 'paid' | 'failed' | 'returned';

export interface ProviderEvent {
  /** Unique per event; duplicate deliveries carry the same id. */
  eventId: string;
  idempotencyKey: string;
  payoutId: string;
  type: ProviderEventType;
  reason?: string;
  /** ISO-8601 timestamp. */
  occurredAt: string;
}

export interface ProviderHealth {
  status: 'up' | 'degraded' | 'down';
  detail?: string;
}

export type WebhookHeaders = Record<string, string | undefined>;

export interface PayoutProvider {
  readonly name: string;
  capabilities(): ProviderCapabilities;
  /** Idempotent on `req.idempotencyKey`. Throws ProviderError on failure. */
  submit(req: SubmitRequest): Promise<SubmitResult>;
  status(idempotencyKey: string): Promise<ProviderStatus>;
  /**
   * Stops the payout under this key if it can still be stopped. For a key the provider has no record of, it
   * must void the key (any later submission with it is refused) and answer `{ cancelled: true, state:
   * 'not_found' }`; a provider that cannot promise that answers `cancelled: false`. The payout workflow fails
   * over from an attempt the provider does not know only after such a void.
   */
  cancel(idempotencyKey: string): Promise<CancelResult>;
  /**
   * Throws (or rejects with) WebhookVerificationError when the signature is missing or invalid. May be async:
   * an adapter whose events name only the provider's object id (Wise) looks the attempt up in its journal.
   */
  parseWebhook(rawBody: Buffer, headers: WebhookHeaders): ProviderEvent[] | Promise<ProviderEvent[]>;
  health(): Promise<ProviderHealth>;
  /**
   * Optional: the currency conversion the provider made for a paid attempt (e.g. Wise paying a EUR account
   * from a USD balance), so the settlement books it as explicit FX legs. Undefined: no conversion.
   */
  conversion?(idempotencyKey: string): Promise<ProviderConversion | undefined>;
  /**
   * Optional: what the provider charged for an attempt beside its amount (Circle: the blockchain network fee,
   * taken from the balance on top of the transfer), as the provider reported it; empty when nothing (yet).
   */
  charges?(idempotencyKey: string): Promise<ProviderCharge[]>;
}

export interface ProviderCharge {
  kind: 'network_fee';
  amount: MoneySnapshot;
  /** The provider's reference of what was charged for (Circle: the on-chain transaction hash). */
  reference?: string;
  /**
   * Who bears it (the instance's setting when the attempt was submitted): the platform (default), or the
   * payee, whose wallet it is recovered from once the provider reports it.
   */
  bearer?: NetworkFeeBearer;
}

/** Who bears a provider's network fee: the platform (its expense) or the payee (recovered from the wallet). */
export type NetworkFeeBearer = 'platform' | 'payee';

/** A conversion made by the provider, in integer minor units: `source` left the balance, `fee` of it stayed with
 * the provider, the rest became `target` (what the payee's account receives). */
export interface ProviderConversion {
  source: MoneySnapshot;
  fee: MoneySnapshot;
  target: MoneySnapshot;
}
