export { assertSubmittable, defaultCapabilities } from './capabilities.ts';
export type { ProviderErrorKind } from './errors.ts';
export { isProviderError, ProviderError, WebhookVerificationError } from './errors.ts';
export type { ImportResult, ImportRowError, ManualProviderOptions, ManualState } from './manual/provider.ts';
export { formatMinor, ManualProvider } from './manual/provider.ts';
export type { PaypalProviderOptions } from './paypal/provider.ts';
export { PaypalProvider, paypalDefaultCapabilities } from './paypal/provider.ts';
export type { ProviderDeps } from './registry.ts';
export { createProviderRegistry, ProviderRegistry, UnknownProviderError } from './registry.ts';
export type { SandboxEvent, SandboxProviderOptions } from './sandbox/provider.ts';
export { SandboxProvider } from './sandbox/provider.ts';
export type { SandboxBehaviour, SandboxScenario } from './sandbox/scenario.ts';
export { DEFAULT_SANDBOX_SCENARIO, MAGIC_SUFFIXES } from './sandbox/scenario.ts';
export type { SandboxDisbursement, SandboxTotals } from './sandbox/store.ts';
export { listSandboxDisbursements, payoutsDisbursedMoreThanOnce, sandboxTotals } from './sandbox/store.ts';
export type {
  ManualProviderSettings,
  PayoutProviderSettings,
  PaypalProviderSettings,
  SandboxProviderSettings,
  StripeProviderSettings,
  WiseProviderSettings,
} from './settings.ts';
export { parseProviderSettings } from './settings.ts';
export { Secret } from './shared/secrets.ts';
export type { StripeProviderOptions } from './stripe/provider.ts';
export { StripeProvider, stripeDefaultCapabilities } from './stripe/provider.ts';
export type * from './types.ts';
export { PAYOUT_METHODS, PAYOUT_RAILS } from './types.ts';
export type { WiseProviderOptions } from './wise/provider.ts';
export { WiseProvider, wiseDefaultCapabilities } from './wise/provider.ts';
