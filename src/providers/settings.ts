// Provider configuration (DISBURSE_PROVIDERS) and the registry built from it.
import { z } from 'zod';
import { type CircleProviderSettings, circleSchema, resolveCircle } from './circle/settings.ts';
import type { SandboxScenario } from './sandbox/scenario.ts';
import { type Env, envPrefix, readSecret, Secret } from './shared/secrets.ts';
import { PAYOUT_METHODS, PAYOUT_RAILS, type ProviderCapabilities } from './types.ts';

export interface SandboxProviderSettings {
  kind: 'sandbox';
  name: string;
  scenario: Partial<SandboxScenario>;
  capabilities: Partial<ProviderCapabilities>;
  /** Where the sandbox POSTs its signed events (usually this API's /v1/providers/<name>/webhooks). */
  webhookUrl?: string;
  /** whsec_ secret for signing/verifying sandbox webhooks. */
  webhookSecret?: string;
  /** Background settlement poll (ms, default 1000). */
  pollMs: number;
  /** Batch-rail interval (ms, default 5000: scheduled payouts settle in seconds); 0 = only runBatch(). */
  batchIntervalMs: number;
}

export interface ManualProviderSettings {
  kind: 'manual';
  name: string;
  capabilities: Partial<ProviderCapabilities>;
  /** Put decrypted destinations in CSV exports (needs DISBURSE_ENCRYPTION_KEYS). Default false. */
  exportDestinations: boolean;
}

/** Stripe Connect (transfer to the payee's connected account, then a payout there). See src/providers/stripe. */
export interface StripeProviderSettings {
  kind: 'stripe';
  name: string;
  capabilities: Partial<ProviderCapabilities>;
  /** API base URL (default https://api.stripe.com); a local fake in tests. */
  apiBase: string;
  /** From `secretKeyEnv` (default <NAME>_SECRET_KEY) or its _FILE: sk_test_… / sk_live_… / rk_…. */
  secretKey: Secret;
  /** From `webhookSecretEnv` (default <NAME>_WEBHOOK_SECRET) or its _FILE: whsec_…, comma-separated to rotate. */
  webhookSecrets: Secret[];
  /** Accepted age of a webhook's signed timestamp (s, default 300 as Stripe's libraries). */
  webhookToleranceSeconds: number;
  /** Per-request timeout (ms, default 30000); no answer in time is an unknown outcome. */
  timeoutMs: number;
}

/** Wise Platform API (quote → recipient → transfer → fund from the balance). See src/providers/wise. */
export interface WiseProviderSettings {
  kind: 'wise';
  name: string;
  capabilities: Partial<ProviderCapabilities>;
  /** API base URL (default https://api.wise.com; sandbox https://api.sandbox.transferwise.tech); a fake in tests. */
  apiBase: string;
  /** The Wise profile (business) that pays, from `profileId` or <NAME>_PROFILE_ID. */
  profileId: number;
  /** From `apiTokenEnv` (default <NAME>_API_TOKEN) or its _FILE: a personal or OAuth API token. */
  apiToken: Secret;
  /** From `webhookPublicKeyEnv` (default <NAME>_WEBHOOK_PUBLIC_KEY) or its _FILE: PEM keys, several to rotate. */
  webhookPublicKeys: Secret[];
  /** Per-request timeout (ms, default 30000); no answer in time is an unknown outcome. */
  timeoutMs: number;
}

/** PayPal Payouts (PayPal and Venmo wallets). See src/providers/paypal. */
export interface PaypalProviderSettings {
  kind: 'paypal';
  name: string;
  capabilities: Partial<ProviderCapabilities>;
  /** API base URL (default https://api-m.paypal.com; sandbox https://api-m.sandbox.paypal.com); a fake in tests. */
  apiBase: string;
  /** From `clientIdEnv` / `clientSecretEnv` (default <NAME>_CLIENT_ID, <NAME>_CLIENT_SECRET) or their _FILE. */
  clientId: Secret;
  clientSecret: Secret;
  /** From `webhookIdEnv` (default <NAME>_WEBHOOK_ID) or its _FILE: the registered webhook's id, comma-separated to move. */
  webhookIds: Secret[];
  /** Per-request timeout (ms, default 30000). */
  timeoutMs: number;
  emailSubject?: string;
  note?: string;
}

export type PayoutProviderSettings =
  | SandboxProviderSettings
  | ManualProviderSettings
  | StripeProviderSettings
  | WiseProviderSettings
  | PaypalProviderSettings
  | CircleProviderSettings;

export type { CircleProviderSettings };

/** The sandbox's batch rail runs this often in a process with its background on (worker, npm start). */
export const DEFAULT_BATCH_INTERVAL_MS = 5000;

const minor = z.union([z.string().regex(/^\d{1,18}$/), z.number().int().min(0)]).transform((v) => BigInt(v));
const name = z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, _ or -');

const capabilities = z
  .object({
    methods: z.array(z.enum(PAYOUT_METHODS as [string, ...string[]])).optional(),
    currencies: z.array(z.string().regex(/^[A-Z][A-Z0-9]{2,9}$/)).optional(),
    countries: z.array(z.string().regex(/^[A-Z]{2}$/)).optional(),
    rails: z.array(z.enum(PAYOUT_RAILS as [string, ...string[]])).optional(),
    limits: z.record(z.string(), z.object({ min: minor, max: minor }).strict()).optional(),
    cost: z
      .object({ fixedMinor: minor, bps: z.number().int().min(0).max(10_000) })
      .strict()
      .optional(),
    priority: z.number().int().optional(),
  })
  .strict()
  .default({});

const scenario = z
  .object({
    seed: z.number().int().optional(),
    latencyMs: z.number().int().min(0).max(600_000).optional(),
    instantConfirmation: z.enum(['sync', 'webhook']).optional(),
    outage: z.boolean().optional(),
    declineRateBps: z.number().int().min(0).max(10_000).optional(),
    timeoutButPaidRateBps: z.number().int().min(0).max(10_000).optional(),
    asyncFailureRateBps: z.number().int().min(0).max(10_000).optional(),
    returnRateBps: z.number().int().min(0).max(10_000).optional(),
    returnAfterMs: z.number().int().min(0).optional(),
    retryableFailures: z.number().int().min(0).max(100).optional(),
    duplicateWebhooks: z.boolean().optional(),
  })
  .strict()
  .default({});

const providerSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('sandbox'),
      name,
      scenario,
      capabilities,
      webhookUrl: z.url().optional(),
      webhookSecret: z.string().startsWith('whsec_').optional(),
      pollMs: z.number().int().min(10).default(1000),
      batchIntervalMs: z.number().int().min(0).default(DEFAULT_BATCH_INTERVAL_MS),
    })
    .strict(),
  z
    .object({ kind: z.literal('manual'), name, capabilities, exportDestinations: z.boolean().default(false) })
    .strict(),
  z
    .object({
      kind: z.literal('stripe'),
      name,
      capabilities,
      apiBase: z.url({ protocol: /^https?$/ }).default('https://api.stripe.com'),
      secretKeyEnv: z
        .string()
        .regex(/^[A-Z][A-Z0-9_]*$/)
        .optional(),
      webhookSecretEnv: z
        .string()
        .regex(/^[A-Z][A-Z0-9_]*$/)
        .optional(),
      webhookToleranceSeconds: z.number().int().min(1).max(86_400).default(300),
      timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    })
    .strict(),
  z
    .object({
      kind: z.literal('wise'),
      name,
      capabilities,
      apiBase: z.url({ protocol: /^https?$/ }).default('https://api.wise.com'),
      profileId: z.number().int().positive().optional(),
      apiTokenEnv: z
        .string()
        .regex(/^[A-Z][A-Z0-9_]*$/)
        .optional(),
      webhookPublicKeyEnv: z
        .string()
        .regex(/^[A-Z][A-Z0-9_]*$/)
        .optional(),
      timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    })
    .strict(),
  z
    .object({
      kind: z.literal('paypal'),
      name,
      capabilities,
      apiBase: z.url({ protocol: /^https?$/ }).default('https://api-m.paypal.com'),
      clientIdEnv: z
        .string()
        .regex(/^[A-Z][A-Z0-9_]*$/)
        .optional(),
      clientSecretEnv: z
        .string()
        .regex(/^[A-Z][A-Z0-9_]*$/)
        .optional(),
      webhookIdEnv: z
        .string()
        .regex(/^[A-Z][A-Z0-9_]*$/)
        .optional(),
      timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
      emailSubject: z.string().min(1).max(255).optional(),
      note: z.string().min(1).max(1000).optional(),
    })
    .strict(),
  circleSchema(name, capabilities),
]);

type ParsedProvider = z.output<typeof providerSchema>;

/** Reads a Stripe instance's credentials from the environment; errors name the variable, never a value. */
function resolveStripe(p: Extract<ParsedProvider, { kind: 'stripe' }>, env: Env): StripeProviderSettings {
  const prefix = envPrefix(p.name);
  const what = `provider "${p.name}" (stripe)`;
  const secretKey = readSecret(env, p.secretKeyEnv ?? `${prefix}_SECRET_KEY`, what, (v) =>
    /^(sk|rk)_(test|live)_[A-Za-z0-9]+$/.test(v)
      ? undefined
      : 'must be a Stripe secret key (sk_test_… or sk_live_…)',
  );
  const webhook = readSecret(env, p.webhookSecretEnv ?? `${prefix}_WEBHOOK_SECRET`, what, (v) =>
    v.split(',').every((s) => /^whsec_[A-Za-z0-9+/=]+$/.test(s.trim()))
      ? undefined
      : 'must be a Stripe webhook signing secret (whsec_…), several separated by commas while rotating',
  );
  const { secretKeyEnv: _k, webhookSecretEnv: _w, ...rest } = p;
  return {
    ...rest,
    secretKey,
    webhookSecrets: webhook
      .reveal()
      .split(',')
      .map((s) => s.trim())
      .map((s, i) => new Secret(s, `${webhook.source}[${i}]`)),
  } as StripeProviderSettings;
}

const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g;

/** Reads a Wise instance's profile, token and webhook public keys; errors name the variable, never a value. */
function resolveWise(p: Extract<ParsedProvider, { kind: 'wise' }>, env: Env): WiseProviderSettings {
  const prefix = envPrefix(p.name);
  const what = `provider "${p.name}" (wise)`;
  let profileId = p.profileId;
  if (profileId === undefined) {
    const raw = env[`${prefix}_PROFILE_ID`]?.trim();
    if (!raw) throw new Error(`${what}: missing profileId, set "profileId" or ${prefix}_PROFILE_ID`);
    if (!/^[1-9]\d{0,15}$/.test(raw))
      throw new Error(`${what}: ${prefix}_PROFILE_ID must be a Wise profile id`);
    profileId = Number(raw);
  }
  const apiToken = readSecret(env, p.apiTokenEnv ?? `${prefix}_API_TOKEN`, what, (v) =>
    /^[A-Za-z0-9._~+/=-]{16,4096}$/.test(v) ? undefined : 'must be a Wise API token',
  );
  const keys = readSecret(env, p.webhookPublicKeyEnv ?? `${prefix}_WEBHOOK_PUBLIC_KEY`, what, (v) =>
    (v.match(PEM_BLOCK) ?? []).length > 0
      ? undefined
      : "must hold Wise's webhook public key in PEM (-----BEGIN PUBLIC KEY-----), several to rotate",
  );
  const { apiTokenEnv: _t, webhookPublicKeyEnv: _w, ...rest } = p;
  return {
    ...rest,
    profileId,
    apiToken,
    webhookPublicKeys: (keys.reveal().match(PEM_BLOCK) ?? []).map(
      (pem, i) => new Secret(pem, `${keys.source}[${i}]`),
    ),
  } as WiseProviderSettings;
}

/** Reads a PayPal instance's app credentials and webhook id(s); errors name the variable, never a value. */
function resolvePaypal(p: Extract<ParsedProvider, { kind: 'paypal' }>, env: Env): PaypalProviderSettings {
  const prefix = envPrefix(p.name);
  const what = `provider "${p.name}" (paypal)`;
  const token = (label: string) => (v: string) =>
    /^[A-Za-z0-9_.-]{8,256}$/.test(v) ? undefined : `must be the PayPal app's ${label}`;
  const clientId = readSecret(env, p.clientIdEnv ?? `${prefix}_CLIENT_ID`, what, token('client id'));
  const clientSecret = readSecret(env, p.clientSecretEnv ?? `${prefix}_CLIENT_SECRET`, what, token('secret'));
  const hooks = readSecret(env, p.webhookIdEnv ?? `${prefix}_WEBHOOK_ID`, what, (v) =>
    v.split(',').every((s) => /^[A-Z0-9]{8,64}$/.test(s.trim()))
      ? undefined
      : "must be the id of the app's registered webhook, several separated by commas while moving",
  );
  const { clientIdEnv: _i, clientSecretEnv: _s, webhookIdEnv: _w, ...rest } = p;
  return {
    ...rest,
    clientId,
    clientSecret,
    webhookIds: hooks
      .reveal()
      .split(',')
      .map((s, i) => new Secret(s.trim(), `${hooks.source}[${i}]`)),
  } as PaypalProviderSettings;
}

/**
 * `sandbox,sandbox_b,manual,stripe` (kind = name prefix) or a JSON array of provider objects, e.g.
 * `[{"name":"sandbox","kind":"sandbox","scenario":{"latencyMs":100}},{"name":"manual","kind":"manual"}]`.
 */
export function parseProviderSettings(text: string, env: Env = process.env): PayoutProviderSettings[] {
  const trimmed = text.trim();
  let raw: unknown;
  if (trimmed.startsWith('[')) {
    try {
      raw = JSON.parse(trimmed);
    } catch {
      throw new Error('is not valid JSON');
    }
  } else {
    raw = trimmed
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((n) => {
        const kind = (['sandbox', 'manual', 'stripe', 'wise', 'paypal', 'circle'] as const).find((k) =>
          n.startsWith(k),
        );
        if (!kind)
          throw new Error(
            `provider "${n}": name must start with sandbox, manual, stripe, wise, paypal or circle, or use the JSON form`,
          );
        return { name: n, kind };
      });
  }
  const parsed = z.array(providerSchema).min(1, 'at least one provider is required').safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    );
  }
  const names = new Set<string>();
  for (const p of parsed.data) {
    if (names.has(p.name)) throw new Error(`provider name "${p.name}" is used twice`);
    names.add(p.name);
  }
  return parsed.data.map((p) =>
    p.kind === 'stripe'
      ? resolveStripe(p, env)
      : p.kind === 'wise'
        ? resolveWise(p, env)
        : p.kind === 'paypal'
          ? resolvePaypal(p, env)
          : p.kind === 'circle'
            ? resolveCircle(p, env)
            : p,
  ) as PayoutProviderSettings[];
}
