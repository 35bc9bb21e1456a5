// Providers by name, built from configuration (DISBURSE_PROVIDERS). Implements the payout service's
// ProviderLookup (get/all).
import type { Keyring } from '../crypto/keyring.ts';
import type { Database } from '../db/open.ts';
import { generateWebhookSecret } from '../webhooks/signing.ts';
import { CircleProvider } from './circle/provider.ts';
import { ManualProvider } from './manual/provider.ts';
import { PaypalProvider } from './paypal/provider.ts';
import { SandboxProvider } from './sandbox/provider.ts';
import type { PayoutProviderSettings } from './settings.ts';
import { StripeProvider } from './stripe/provider.ts';
import type { PayoutProvider } from './types.ts';
import { WiseProvider } from './wise/provider.ts';

export class UnknownProviderError extends Error {
  readonly code = 'unknown_provider';
  constructor(name: string, known: readonly string[]) {
    super(
      `provider "${name}" is not configured (configured: ${known.join(', ') || 'none'}); see DISBURSE_PROVIDERS`,
    );
    this.name = 'UnknownProviderError';
  }
}

/** A sandbox configured without a webhookUrl: it may deliver to the API of its own process (npm start). */
interface LocalWebhookCandidate {
  sandbox: SandboxProvider;
  /** Configured webhookSecret, if any (else a fresh one: sender and receiver are this one process). */
  secret?: string;
  /** Its scenario leaves instantConfirmation unset: confirm instant payouts by the webhook, as real rails do. */
  instantByWebhook: boolean;
}

export class ProviderRegistry {
  readonly #byName = new Map<string, PayoutProvider>();
  readonly #localCandidates: readonly LocalWebhookCandidate[];

  constructor(providers: readonly PayoutProvider[], localCandidates: readonly LocalWebhookCandidate[] = []) {
    for (const p of providers) {
      if (this.#byName.has(p.name)) throw new Error(`provider name "${p.name}" is registered twice`);
      this.#byName.set(p.name, p);
    }
    this.#localCandidates = localCandidates;
  }

  /**
   * For a process that serves the API and runs the sandbox's background (`npm start`): every sandbox
   * configured without a webhookUrl POSTs its signed events to `<apiUrl>/v1/providers/<name>/webhooks`, so
   * payouts are confirmed by the webhook route, as with a real provider, not by status polls. Unless its
   * scenario says otherwise, its instant rail then answers pending and confirms by that webhook. Returns the
   * sandboxes wired.
   */
  deliverSandboxWebhooksTo(apiUrl: string): string[] {
    const base = loopback(apiUrl);
    for (const c of this.#localCandidates) {
      c.sandbox.deliverWebhooksTo({
        url: `${base}/v1/providers/${c.sandbox.name}/webhooks`,
        secret: c.secret ?? generateWebhookSecret(),
      });
      if (c.instantByWebhook) c.sandbox.setScenario({ instantConfirmation: 'webhook' });
    }
    return this.#localCandidates.map((c) => c.sandbox.name);
  }

  get(name: string): PayoutProvider | undefined {
    return this.#byName.get(name);
  }

  /** Like get, but throws UnknownProviderError naming the configured providers. */
  require(name: string): PayoutProvider {
    const p = this.#byName.get(name);
    if (!p) throw new UnknownProviderError(name, [...this.#byName.keys()]);
    return p;
  }

  all(): readonly PayoutProvider[] {
    return [...this.#byName.values()];
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** Sandbox instances (for their control API in tests, demos and the bench). */
  sandboxes(): SandboxProvider[] {
    return this.all().filter((p): p is SandboxProvider => p instanceof SandboxProvider);
  }

  /** Stops the background work of every provider that has some (sandbox timers). */
  async stop(): Promise<void> {
    await Promise.all(this.sandboxes().map((s) => s.stop()));
  }
}

export interface ProviderDeps {
  db: Database;
  /** Needed by manual providers that keep destinations for export (exportDestinations). */
  keyring?: Keyring;
  clock?: () => Date;
  fetch?: typeof fetch;
  /** Start sandbox background settlement/webhook delivery (worker processes: true; unit tests: false). */
  startBackground?: boolean;
}

export function createProviderRegistry(
  settings: readonly PayoutProviderSettings[],
  deps: ProviderDeps,
): ProviderRegistry {
  const localCandidates: LocalWebhookCandidate[] = [];
  const providers = settings.map((s): PayoutProvider => {
    if (s.kind === 'sandbox') {
      const webhookSecret = s.webhookSecret;
      const sandbox = new SandboxProvider({
        name: s.name,
        db: deps.db,
        scenario: s.scenario,
        capabilities: s.capabilities,
        ...(s.webhookUrl && webhookSecret ? { webhook: { url: s.webhookUrl, secret: webhookSecret } } : {}),
        ...(webhookSecret ? { webhookSecret } : {}),
        ...(deps.clock ? { clock: deps.clock } : {}),
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      });
      if (!s.webhookUrl) {
        localCandidates.push({
          sandbox,
          ...(webhookSecret ? { secret: webhookSecret } : {}),
          instantByWebhook: s.scenario.instantConfirmation === undefined,
        });
      }
      if (deps.startBackground) sandbox.start({ pollMs: s.pollMs, batchIntervalMs: s.batchIntervalMs });
      return sandbox;
    }
    if (s.kind === 'stripe') {
      return new StripeProvider({
        name: s.name,
        db: deps.db,
        secretKey: s.secretKey,
        webhookSecrets: s.webhookSecrets,
        apiBase: s.apiBase,
        capabilities: s.capabilities,
        webhookToleranceSeconds: s.webhookToleranceSeconds,
        timeoutMs: s.timeoutMs,
        ...(deps.clock ? { clock: deps.clock } : {}),
      });
    }
    if (s.kind === 'paypal') {
      return new PaypalProvider({
        name: s.name,
        db: deps.db,
        clientId: s.clientId,
        clientSecret: s.clientSecret,
        webhookIds: s.webhookIds,
        apiBase: s.apiBase,
        capabilities: s.capabilities,
        timeoutMs: s.timeoutMs,
        ...(s.emailSubject ? { emailSubject: s.emailSubject } : {}),
        ...(s.note ? { note: s.note } : {}),
        ...(deps.clock ? { clock: deps.clock } : {}),
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      });
    }
    if (s.kind === 'wise') {
      return new WiseProvider({
        name: s.name,
        db: deps.db,
        profileId: s.profileId,
        apiToken: s.apiToken,
        webhookPublicKeys: s.webhookPublicKeys,
        apiBase: s.apiBase,
        capabilities: s.capabilities,
        timeoutMs: s.timeoutMs,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      });
    }
    if (s.kind === 'circle') {
      return new CircleProvider({
        name: s.name,
        db: deps.db,
        apiKey: s.apiKey,
        walletId: s.walletId,
        apiBase: s.apiBase,
        capabilities: s.capabilities,
        webhookPublicKeys: s.webhookPublicKeys,
        fetchWebhookKeys: s.fetchWebhookKeys,
        unsignedNotifications: s.unsignedNotifications,
        snsTopicArns: s.snsTopicArns,
        timeoutMs: s.timeoutMs,
        networkFeeBearer: s.networkFeeBearer,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      });
    }
    return new ManualProvider({
      name: s.name,
      db: deps.db,
      capabilities: s.capabilities,
      exportDestinations: s.exportDestinations,
      ...(deps.keyring ? { keyring: deps.keyring } : {}),
      ...(deps.clock ? { clock: deps.clock } : {}),
    });
  });
  return new ProviderRegistry(providers, localCandidates);
}

/** The API's own address as a client reaches it: a wildcard listen address (0.0.0.0, ::) means loopback. */
export function loopback(apiUrl: string): string {
  const m = /^(https?):\/\/(.*):(\d+)\/?$/.exec(apiUrl);
  if (!m) return new URL(apiUrl).origin;
  const host = m[2]!.replace(/^\[(.*)\]$/, '$1');
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${m[1]}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${m[3]}`;
}
