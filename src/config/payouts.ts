// Configuration of the payout flow: providers, instant payouts and fees, withholding, payout calendar,
// risk rules, approvals, compliance, outbound webhooks. Every variable is optional; the defaults below
// make a fresh `npm start` work against the sandbox provider.
//
// Amount maps use integer MINOR units per currency: `USD:500000,EUR:500000` = 5,000.00 each.
// Durations: an integer with a unit, `500ms`, `30s`, `15m`, `72h`, `7d`.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SanctionsListError } from '../compliance/sanctions.ts';
import type { InstantFeeSchedule } from '../fees/fees.ts';
import { type Asset, configureAssets, parseAssetList } from '../money/currency.ts';
import { type PayoutProviderSettings, parseProviderSettings } from '../providers/settings.ts';
import type { RiskRulesConfig } from '../risk/rules.ts';
import { multipleInHundredths } from '../risk/rules.ts';
import { CalendarError, type PayoutCalendar, validateCalendar, type Weekday } from '../routing/calendar.ts';
import { secretKey } from '../webhooks/signing.ts';
import { defineConfigSection, intVar, type SectionValue } from './section.ts';

// The sample list ships with the sources: found wherever the process was started from.
const defaultSanctionsFile = fileURLToPath(new URL('../../config/sanctions.sample.csv', import.meta.url));

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "72h" → 259 200 000. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration like 500ms, 30s, 15m, 72h or 7d`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** "USD:500000,EUR:1000" → { USD: 500000n, EUR: 1000n } (minor units). Empty string → {}. */
export function parseAmountMap(text: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Z][A-Z0-9]{2,9}):(\d{1,18})$/.exec(item);
    if (!m) throw new Error(`"${item}" must be CURRENCY:minorUnits, e.g. USD:500000`);
    if (m[1]! in out) throw new Error(`currency ${m[1]} is listed twice`);
    out[m[1]!] = BigInt(m[2]!);
  }
  return out;
}

/** A zod transform from a parser that throws with a clear message. */
export function refined<T>(parse: (s: string) => T) {
  return (s: string, ctx: z.RefinementCtx): T => {
    try {
      return parse(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  };
}

/** A duration variable (`30s`, `15m`, `72h`, `7d`) in milliseconds, with its default. */
export const duration = (fallback: string, what: string) =>
  z
    .string()
    .default(fallback)
    .transform(refined(parseDuration))
    .describe(`${what}: a duration such as 30s, 15m, 72h, 7d (default ${fallback})`);

const amountMap = (fallback: string, what: string) =>
  z
    .string()
    .default(fallback)
    .transform(refined(parseAmountMap))
    .describe(`${what}: CURRENCY:minorUnits[,…] (default ${fallback || 'none'})`);

const feeRule = z
  .object({
    fixedMinor: z.union([z.string().regex(/^\d{1,18}$/), z.number().int().min(0)]).default('0'),
    bps: z.number().int().min(0).max(10_000).default(0),
    minMinor: z.union([z.string().regex(/^\d{1,18}$/), z.number().int().min(0)]).optional(),
    maxMinor: z.union([z.string().regex(/^\d{1,18}$/), z.number().int().min(0)]).optional(),
  })
  .strict();

export function parseInstantFees(text: string): InstantFeeSchedule {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('must be JSON, e.g. {"USD":{"fixedMinor":"25","bps":100,"maxMinor":"1500"}}');
  }
  const parsed = z.record(z.string().regex(/^[A-Z][A-Z0-9]{2,9}$/), feeRule).safeParse(json);
  if (!parsed.success)
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const out: InstantFeeSchedule = {};
  for (const [currency, r] of Object.entries(parsed.data)) {
    const rule = {
      fixedMinor: BigInt(r.fixedMinor),
      bps: r.bps,
      ...(r.minMinor !== undefined ? { minMinor: BigInt(r.minMinor) } : {}),
      ...(r.maxMinor !== undefined ? { maxMinor: BigInt(r.maxMinor) } : {}),
    };
    if (rule.minMinor !== undefined && rule.maxMinor !== undefined && rule.minMinor > rule.maxMinor) {
      throw new Error(`${currency}: minMinor must not exceed maxMinor`);
    }
    out[currency] = rule;
  }
  return out;
}

/** Parses and installs the asset list (money module), every process alike. */
function setAssets(s: string): Asset[] {
  const assets = parseAssetList(s);
  configureAssets(assets);
  return assets;
}

function list(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

/** Validates one part of the calendar (the others take valid placeholders) and returns the full calendar. */
function checkCalendar(part: Partial<PayoutCalendar>): PayoutCalendar {
  const cal: PayoutCalendar = { timezone: 'UTC', days: ['mon'], time: '00:00', holidays: [], ...part };
  validateCalendar(cal);
  return cal;
}

const DEFAULT_INSTANT_FEES = JSON.stringify({
  USD: { fixedMinor: '25', bps: 100, maxMinor: '1500' },
  EUR: { fixedMinor: '25', bps: 100, maxMinor: '1500' },
  GBP: { fixedMinor: '25', bps: 100, maxMinor: '1500' },
});

export const payoutsSection = defineConfigSection(
  'payouts',
  z
    .object({
      // First: the asset list must be in place before amounts in those assets are read below.
      DISBURSE_ASSETS: z
        .string()
        .default('USDC:6,EURC:6')
        .transform(refined(setAssets))
        .describe(
          'non-ISO assets money may be held and paid in, CODE:EXPONENT[,…] (default USDC:6,EURC:6: 1 USDC = 1000000 minor units)',
        ),
      DISBURSE_PROVIDERS: z
        .string()
        .default('sandbox')
        .transform(refined(parseProviderSettings))
        .describe(
          'comma list of provider names whose kind is their prefix (sandbox, sandbox_b, manual, stripe, paypal, wise, circle), or a JSON array ' +
            'of {name, kind: "sandbox"|"manual"|"stripe"|"paypal"|"wise"|"circle", scenario?, capabilities?, webhookUrl?, webhookSecret?, pollMs?, batchIntervalMs?, ' +
            'exportDestinations?, apiBase?, secretKeyEnv?, webhookSecretEnv?, webhookToleranceSeconds?, timeoutMs?} (see ' +
            'src/providers/settings.ts; stripe reads <NAME>_SECRET_KEY and <NAME>_WEBHOOK_SECRET or their _FILE; paypal reads ' +
            '<NAME>_CLIENT_ID, <NAME>_CLIENT_SECRET and <NAME>_WEBHOOK_ID, takes clientIdEnv?, clientSecretEnv?, webhookIdEnv?, ' +
            'emailSubject?, note?; wise reads <NAME>_PROFILE_ID (or profileId), <NAME>_API_TOKEN and ' +
            '<NAME>_WEBHOOK_PUBLIC_KEY (PEM), takes apiTokenEnv?, webhookPublicKeyEnv?; circle reads <NAME>_API_KEY and ' +
            '<NAME>_WALLET_ID (or walletId), takes apiKeyEnv?, webhookPublicKeys?, fetchWebhookKeys?, unsignedNotifications?, ' +
            'snsTopicArns? (the SNS topic ARNs its notifications may come from; empty: any), networkFeeBearer? ("platform", ' +
            'the default, or "payee": Circle\'s network fee recovered from the payee\'s wallet after the transfer); default ' +
            'sandbox: batch rail every 5 s, and under npm start its webhooks go to the local API)',
        ),
      PAYOUT_INSTANT_LIMITS: amountMap(
        'USD:500000,EUR:500000,GBP:500000',
        'inclusive instant limit per currency',
      ),
      PAYOUT_INSTANT_FEES: z
        .string()
        .default(DEFAULT_INSTANT_FEES)
        .transform(refined(parseInstantFees))
        .describe(
          'JSON {"USD":{"fixedMinor":"25","bps":100,"minMinor"?,"maxMinor"?}} (default 0.25 + 1%, max 15.00)',
        ),
      PAYOUT_WITHHOLDING_BPS: intVar(0, 10_000, 2_400).describe(
        'backup withholding without a tax form, basis points 0-10000 (default 2400 = 24%)',
      ),
      PAYOUT_WINDOW_TIMEZONE: z
        .string()
        .default('UTC')
        .transform(refined((timezone) => checkCalendar({ timezone }).timezone))
        .describe('IANA timezone of the payout calendar, e.g. America/New_York (default UTC)'),
      PAYOUT_WINDOW_DAYS: z
        .string()
        .default('mon,tue,wed,thu,fri')
        .transform(
          refined((s) => checkCalendar({ days: list(s).map((d) => d.toLowerCase()) as Weekday[] }).days),
        )
        .describe('weekdays with a payout window, e.g. mon,tue,wed,thu,fri (default business days)'),
      PAYOUT_WINDOW_TIME: z
        .string()
        .default('17:00')
        .transform(refined((time) => checkCalendar({ time }).time))
        .describe('local time of the payout window, HH:mm 24h (default 17:00)'),
      PAYOUT_HOLIDAYS: z
        .string()
        .default('')
        .transform(refined((s) => checkCalendar({ holidays: list(s) }).holidays))
        .describe('local dates without a window, YYYY-MM-DD[,…] (default none)'),
      PAYOUT_WINDOW_EVERY: z
        .string()
        .optional()
        .transform((s, ctx) =>
          s === undefined || s === ''
            ? undefined
            : refined((t) => checkCalendar({ everyMs: parseDuration(t) }).everyMs)(s, ctx),
        )
        .describe(
          'open a payout window at every multiple of this interval (1m-24h, e.g. 2m) on the payout days instead of once at PAYOUT_WINDOW_TIME (default unset)',
        ),
      PAYOUT_BULK_WINDOW: intVar(1, 500, 500).describe(
        'payouts of one bulk request in flight at most; the bulk workflow starts the rest as they finish (max 500)',
      ),
      RISK_MAX_DAILY_COUNT: intVar(1, 1_000_000, 5).describe(
        'payouts per payee per 24h before flagging (default 5)',
      ),
      RISK_MAX_DAILY_AMOUNT: amountMap(
        'USD:2000000,EUR:2000000,GBP:2000000',
        'per-payee 24h amount before flagging',
      ),
      RISK_DESTINATION_COOL_OFF: duration(
        '72h',
        'flag payouts to a destination added/changed this recently (0s disables)',
      ),
      RISK_MAX_SHARED_DESTINATION_PAYEES: intVar(0, 1000, 0).describe(
        'other payees allowed on the same destination before flagging (default 0)',
      ),
      RISK_ANOMALY_MULTIPLE: z
        .string()
        .default('5')
        .transform(
          refined((s) => {
            const n = Number(s);
            multipleInHundredths(n);
            return n;
          }),
        )
        .describe('flag amounts above this multiple of the trailing average, up to 2 decimals (default 5)'),
      APPROVAL_THRESHOLD_SINGLE: amountMap(
        'USD:100000,EUR:100000,GBP:100000',
        'above this one approver is needed; a currency listed in neither threshold needs two for every payout',
      ),
      APPROVAL_THRESHOLD_DUAL: amountMap(
        'USD:1000000,EUR:1000000,GBP:1000000',
        'above this two distinct approvers',
      ),
      APPROVAL_TIMEOUT: duration('48h', 'wait for approval before escalating'),
      APPROVAL_ESCALATION_TIMEOUT: duration(
        '24h',
        'wait after escalating before auto-rejecting and releasing',
      ),
      COMPLIANCE_WAIT: duration('7d', 'how long a compliance-blocked payout waits for complianceCleared'),
      PAYOUT_CONFIRMATION_POLL: duration(
        '30s',
        'interval of provider status polls while awaiting confirmation',
      ),
      PAYOUT_CONFIRMATION_DEADLINE: duration(
        '24h',
        'wait for a provider confirmation before treating the outcome as unknown',
      ),
      PAYOUT_UNKNOWN_OUTCOME_DEADLINE: duration(
        '1h',
        'status checks of an unknown outcome before operator review',
      ),
      PAYOUT_REVIEW_RECHECK: duration('6h', 'status re-check interval while in operator review'),
      PAYOUT_PROVIDER_OUTAGE_RETRY: duration(
        '5m',
        'first wait before routing again when every capable provider is down (doubles, at most 1h)',
      ),
      PAYOUT_PROVIDER_OUTAGE_DEADLINE: duration(
        '24h',
        'how long a payout waits out an outage of every capable provider before it fails and releases funds',
      ),
      SANCTIONS_FILE: z
        .string()
        .min(1)
        .default(defaultSanctionsFile)
        .describe(
          'path of the sanctions list CSV (kind,value,source,reference; default config/sanctions.sample.csv)',
        ),
      WEBHOOK_ENDPOINTS: z
        .string()
        .default('')
        .transform(
          refined((s) =>
            s
              .split(',')
              .map((u) => u.trim())
              .filter(Boolean)
              .map((u) => {
                const url = new URL(u);
                if (url.protocol !== 'https:' && url.protocol !== 'http:')
                  throw new Error(`${u}: must be http(s)`);
                return url.toString();
              }),
          ),
        )
        .describe('URLs receiving outbound webhooks, comma-separated (default none)'),
      WEBHOOK_SECRET: z
        .string()
        .default('')
        .transform(
          refined((s) => {
            const secrets = s
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean);
            for (const secret of secrets) secretKey(secret);
            return secrets;
          }),
        )
        .describe('whsec_<base64>[,whsec_…] signing secret(s); several during a rotation'),
    })
    .superRefine((v, ctx) => {
      const single = v.APPROVAL_THRESHOLD_SINGLE;
      const dual = v.APPROVAL_THRESHOLD_DUAL;
      for (const currency of new Set([...Object.keys(single), ...Object.keys(dual)])) {
        const s = single[currency];
        const d = dual[currency];
        if (s === undefined || d === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [s === undefined ? 'APPROVAL_THRESHOLD_SINGLE' : 'APPROVAL_THRESHOLD_DUAL'],
            message: `${currency} needs a threshold in both APPROVAL_THRESHOLD_SINGLE and APPROVAL_THRESHOLD_DUAL`,
          });
        } else if (d < s) {
          ctx.addIssue({
            code: 'custom',
            path: ['APPROVAL_THRESHOLD_DUAL'],
            message: `${currency} dual-approval threshold ${d} is below the single-approval threshold ${s}`,
          });
        }
      }
      if (v.WEBHOOK_ENDPOINTS.length > 0 && v.WEBHOOK_SECRET.length === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['WEBHOOK_SECRET'],
          message: 'WEBHOOK_ENDPOINTS is set, so a signing secret is required',
        });
      }
    }),
  (v) => {
    const calendar: PayoutCalendar = {
      timezone: v.PAYOUT_WINDOW_TIMEZONE,
      days: v.PAYOUT_WINDOW_DAYS,
      time: v.PAYOUT_WINDOW_TIME,
      holidays: v.PAYOUT_HOLIDAYS,
      ...(v.PAYOUT_WINDOW_EVERY !== undefined ? { everyMs: v.PAYOUT_WINDOW_EVERY } : {}),
    };
    const approvalThresholds: Record<string, { single: bigint; dual: bigint }> = {};
    for (const [currency, single] of Object.entries(v.APPROVAL_THRESHOLD_SINGLE)) {
      approvalThresholds[currency] = { single, dual: v.APPROVAL_THRESHOLD_DUAL[currency]! };
    }
    const risk: RiskRulesConfig = {
      maxDailyCount: v.RISK_MAX_DAILY_COUNT,
      maxDailyAmount: v.RISK_MAX_DAILY_AMOUNT,
      destinationCoolOffMs: v.RISK_DESTINATION_COOL_OFF,
      maxSharedDestinationPayees: v.RISK_MAX_SHARED_DESTINATION_PAYEES,
      anomalyMultiple: v.RISK_ANOMALY_MULTIPLE,
    };
    return {
      providers: v.DISBURSE_PROVIDERS as PayoutProviderSettings[],
      instantLimits: v.PAYOUT_INSTANT_LIMITS,
      instantFees: v.PAYOUT_INSTANT_FEES,
      withholdingBps: v.PAYOUT_WITHHOLDING_BPS,
      calendar,
      risk,
      approvalThresholds,
      approvalTimeoutMs: v.APPROVAL_TIMEOUT,
      escalationTimeoutMs: v.APPROVAL_ESCALATION_TIMEOUT,
      complianceWaitMs: v.COMPLIANCE_WAIT,
      confirmationPollMs: v.PAYOUT_CONFIRMATION_POLL,
      confirmationDeadlineMs: v.PAYOUT_CONFIRMATION_DEADLINE,
      unknownOutcomeDeadlineMs: v.PAYOUT_UNKNOWN_OUTCOME_DEADLINE,
      reviewRecheckMs: v.PAYOUT_REVIEW_RECHECK,
      providerOutageRetryMs: v.PAYOUT_PROVIDER_OUTAGE_RETRY,
      providerOutageDeadlineMs: v.PAYOUT_PROVIDER_OUTAGE_DEADLINE,
      bulkWindow: v.PAYOUT_BULK_WINDOW,
      sanctionsFile: v.SANCTIONS_FILE,
      webhooks: { endpoints: v.WEBHOOK_ENDPOINTS.map((url) => ({ url, secrets: v.WEBHOOK_SECRET })) },
    };
  },
);

export type PayoutsConfig = SectionValue<typeof payoutsSection>;

// Re-exported so callers can tell configuration errors of this section apart.
export { CalendarError, SanctionsListError };
