// Provider configuration (DISBURSE_PROVIDERS) and the registry built from it.
import { z } from 'zod';
import type { SandboxScenario } from './sandbox/scenario.ts';
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

export type PayoutProviderSettings = SandboxProviderSettings | ManualProviderSettings;

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
]);

/**
 * `sandbox,sandbox_b,manual` (kind = name prefix) or a JSON array of provider objects, e.g.
 * `[{"name":"sandbox","kind":"sandbox","scenario":{"latencyMs":100}},{"name":"manual","kind":"manual"}]`.
 */
export function parseProviderSettings(text: string): PayoutProviderSettings[] {
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
        const kind = n.startsWith('sandbox') ? 'sandbox' : n.startsWith('manual') ? 'manual' : undefined;
        if (!kind)
          throw new Error(`provider "${n}": name must start with sandbox or manual, or use the JSON form`);
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
  return parsed.data as PayoutProviderSettings[];
}
