// A provider's own answer to "what can you pay?" (Stripe's country spec, Circle's stablecoin chains, Wise's
// currencies), merged with the configured capabilities. capabilities() must answer synchronously (routing ranks
// every provider for each payout), so the answer is cached and refreshed by health(), which routing awaits
// before reading capabilities(); until a first answer, or when the provider cannot be asked, the configured
// capabilities hold. A slow lookup never holds routing up for long: a known answer is served while the provider
// is asked again, and a first answer is waited for at most `firstAnswerWaitMs`.
import type { ProviderCapabilities } from '../types.ts';

/** What the provider says it supports; an absent list says nothing (the configured one stands). */
export interface ProviderReportedCapabilities {
  currencies?: readonly string[];
  countries?: readonly string[];
}

/**
 * The configured capabilities narrowed to what the provider reports: configuration may restrict what a provider
 * can do (one account for EUR only), never extend it. A configured currency without a limit keeps none.
 */
export function mergeCapabilities(
  configured: ProviderCapabilities,
  reported: ProviderReportedCapabilities | undefined,
): ProviderCapabilities {
  if (!reported) return configured;
  const narrow = (mine: string[], theirs: readonly string[] | undefined) =>
    theirs ? mine.filter((x) => theirs.includes(x)) : mine;
  return {
    ...configured,
    currencies: narrow(configured.currencies, reported.currencies),
    countries: narrow(configured.countries, reported.countries),
  };
}

export interface CapabilityLookupOptions {
  configured: ProviderCapabilities;
  lookup: () => Promise<ProviderReportedCapabilities>;
  /** How long an answer is used before health() asks again (ms, default 15 minutes). */
  ttlMs?: number;
  /** How long health() waits for the very first answer before going on with the configured ones (ms, default 2 s). */
  firstAnswerWaitMs?: number;
  now?: () => number;
}

export class CapabilityLookup {
  readonly #configured: ProviderCapabilities;
  readonly #lookup: () => Promise<ProviderReportedCapabilities>;
  readonly #ttlMs: number;
  readonly #firstAnswerWaitMs: number;
  readonly #now: () => number;
  #merged: ProviderCapabilities;
  #reported: ProviderReportedCapabilities | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #inFlight: Promise<void> | undefined;
  /** Why the last lookup failed (shown in health's detail); undefined after a good answer. */
  lastError: string | undefined;

  constructor(o: CapabilityLookupOptions) {
    this.#configured = o.configured;
    this.#merged = o.configured;
    this.#lookup = o.lookup;
    this.#ttlMs = o.ttlMs ?? 15 * 60_000;
    this.#firstAnswerWaitMs = o.firstAnswerWaitMs ?? 2_000;
    this.#now = o.now ?? Date.now;
  }

  current(): ProviderCapabilities {
    return this.#merged;
  }

  /** The provider's last answer (undefined: never answered). */
  reported(): ProviderReportedCapabilities | undefined {
    return this.#reported;
  }

  /**
   * Asks the provider when the last answer is older than the TTL; a failure keeps the last known merge. With an
   * answer already known it does not wait (the refresh lands when it lands); without one it waits a bounded time.
   */
  async refreshIfStale(): Promise<void> {
    if (this.#now() - this.#fetchedAt < this.#ttlMs) return;
    this.#inFlight ??= this.refresh().finally(() => {
      this.#inFlight = undefined;
    });
    const inFlight = this.#inFlight;
    if (this.#reported) return;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#firstAnswerWaitMs);
    });
    try {
      await Promise.race([inFlight, giveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  async refresh(): Promise<void> {
    try {
      const reported = await this.#lookup();
      this.#reported = reported;
      this.#merged = mergeCapabilities(this.#configured, reported);
      this.#fetchedAt = this.#now();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
    }
  }
}
