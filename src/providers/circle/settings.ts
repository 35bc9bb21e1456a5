// The `circle` entry of DISBURSE_PROVIDERS: its schema (composed into ../settings.ts) and the resolution of
// its credentials from the environment. The API key is a secret (<NAME>_API_KEY or its _FILE); the paying
// wallet id and the notification public keys are not (public keys are published by Circle at
// /v2/notifications/publicKey/{keyId}, fetched and cached when not configured).
import { z } from 'zod';
import { type Env, envPrefix, readSecret, type Secret } from '../shared/secrets.ts';
import type { NetworkFeeBearer, ProviderCapabilities } from '../types.ts';

/** USDC through Circle (Circle Mint / Core API transfers to a blockchain address). See src/providers/circle. */
export interface CircleProviderSettings {
  kind: 'circle';
  name: string;
  capabilities: Partial<ProviderCapabilities>;
  /** API base URL (default https://api.circle.com; sandbox https://api-sandbox.circle.com); a fake in tests. */
  apiBase: string;
  /** The Circle wallet that pays, from `walletId` or <NAME>_WALLET_ID (the account's merchant wallet). */
  walletId: string;
  /** From `apiKeyEnv` (default <NAME>_API_KEY) or its _FILE: SAND_API_KEY:… / LIVE_API_KEY:…. */
  apiKey: Secret;
  /** Notification public keys by key id (base64 DER), e.g. to pin them; others are fetched when allowed. */
  webhookPublicKeys: Record<string, string>;
  /** Fetch an unknown key id from Circle (default true). */
  fetchWebhookKeys: boolean;
  /** A notification signed neither by SNS nor by Circle: refused (default), or only its transfer id looked up. */
  unsignedNotifications: 'refuse' | 'lookup';
  /** SNS topics accepted (the `subscriptionDetails[].url` ARNs of GET /v1/notifications/subscriptions); [] = any. */
  snsTopicArns: string[];
  /** Per-request timeout (ms, default 30000); no answer in time is an unknown outcome. */
  timeoutMs: number;
  /**
   * Who bears Circle's blockchain network fee: `platform` (default, its expense) or `payee` (recovered from
   * the payee's wallet once Circle reports it after the transfer; Circle cannot take it from the amount sent).
   */
  networkFeeBearer: NetworkFeeBearer;
}

const envName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]*$/)
  .optional();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function circleSchema<N extends z.ZodType, C extends z.ZodType>(name: N, capabilities: C) {
  return z
    .object({
      kind: z.literal('circle'),
      name,
      capabilities,
      apiBase: z.url({ protocol: /^https?$/ }).default('https://api.circle.com'),
      walletId: z
        .string()
        .regex(/^[0-9A-Za-z-]{1,64}$/, 'a Circle wallet id')
        .optional(),
      apiKeyEnv: envName,
      webhookPublicKeys: z
        .record(
          z.string().regex(UUID, 'key ids are UUIDs (X-Circle-Key-Id)'),
          z.string().regex(/^[A-Za-z0-9+/=]{40,2000}$/, 'base64 DER public key'),
        )
        .default({}),
      fetchWebhookKeys: z.boolean().default(true),
      unsignedNotifications: z.enum(['refuse', 'lookup']).default('refuse'),
      snsTopicArns: z
        .array(
          z.string().regex(/^arn:aws(-cn)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'an SNS topic ARN'),
        )
        .default([]),
      timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
      networkFeeBearer: z
        .enum(['platform', 'payee'], { error: 'who bears the network fee: "platform" or "payee"' })
        .default('platform'),
    })
    .strict();
}

/** The entry as parsed (capabilities are the caller's schema, passed through untouched). */
type Parsed = Omit<z.output<ReturnType<typeof circleSchema<z.ZodString, z.ZodUnknown>>>, 'capabilities'> & {
  capabilities: unknown;
};

/** Reads a Circle instance's wallet id and API key; errors name the variable, never a value. */
export function resolveCircle(p: Parsed, env: Env): CircleProviderSettings {
  const prefix = envPrefix(p.name);
  const what = `provider "${p.name}" (circle)`;
  let walletId = p.walletId;
  if (walletId === undefined) {
    const raw = env[`${prefix}_WALLET_ID`]?.trim();
    if (!raw) throw new Error(`${what}: missing walletId, set "walletId" or ${prefix}_WALLET_ID`);
    if (!/^[0-9A-Za-z-]{1,64}$/.test(raw))
      throw new Error(`${what}: ${prefix}_WALLET_ID must be a Circle wallet id`);
    walletId = raw;
  }
  const apiKey = readSecret(env, p.apiKeyEnv ?? `${prefix}_API_KEY`, what, (v) =>
    /^[A-Z][A-Z0-9_]*:[A-Za-z0-9]{8,128}:[A-Za-z0-9]{8,128}$/.test(v)
      ? undefined
      : 'must be a Circle API key (SAND_API_KEY:…:… or LIVE_API_KEY:…:…)',
  );
  const { apiKeyEnv: _k, ...rest } = p;
  return { ...rest, walletId, apiKey } as CircleProviderSettings;
}
