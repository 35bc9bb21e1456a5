// Providers by name, built from configuration (DISBURSE_PROVIDERS). Implements the payout service's
// ProviderLookup (get/all).
import type { Keyring } from '../crypto/keyring.ts';
import type { Database } from '../db/open.ts';
import { ManualProvider } from './manual/provider.ts';
import { SandboxProvider } from './sandbox/provider.ts';
import type { PayoutProviderSettings } from './settings.ts';
import type { PayoutProvider } from './types.ts';

export class UnknownProviderError extends Error {
  readonly code = 'unknown_provider';
  constructor(name: string, known: readonly string[]) {
    super(
      `provider "${name}" is not configured (configured: ${known.join(', ') || 'none'}); see DISBURSE_PROVIDERS`,
    );
    this.name = 'UnknownProviderError';
  }
}

export class ProviderRegistry {
  readonly #byName = new Map<string, PayoutProvider>();

  constructor(providers: readonly PayoutProvider[]) {
    for (const p of providers) {
      if (this.#byName.has(p.name)) throw new Error(`provider name "${p.name}" is registered twice`);
      this.#byName.set(p.name, p);
    }
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
      if (deps.startBackground) sandbox.start({ pollMs: s.pollMs, batchIntervalMs: s.batchIntervalMs });
      return sandbox;
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
  return new ProviderRegistry(providers);
}
