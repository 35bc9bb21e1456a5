import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { parseAmountMap, parseDuration, payoutsSection } from '../../src/config/payouts.ts';
import type { PayoutSettings } from '../../src/payouts/service.ts';
import { parseProviderSettings } from '../../src/providers/settings.ts';
import { generateWebhookSecret } from '../../src/webhooks/signing.ts';

function parse(env: Record<string, string>) {
  const r = payoutsSection.parse(env);
  if (!r.ok) throw new ConfigError(r.problems);
  return r.value;
}

describe('payouts configuration', () => {
  it('has working defaults', () => {
    const c = parse({});
    expect(c.providers).toEqual([
      {
        kind: 'sandbox',
        name: 'sandbox',
        scenario: {},
        capabilities: {},
        pollMs: 1000,
        batchIntervalMs: 5000,
      },
    ]);
    expect(c.instantLimits).toEqual({ USD: 500_000n, EUR: 500_000n, GBP: 500_000n });
    expect(c.instantFees.USD).toEqual({ fixedMinor: 25n, bps: 100, maxMinor: 1500n });
    expect(c.withholdingBps).toBe(2400);
    expect(c.calendar).toEqual({
      timezone: 'UTC',
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      time: '17:00',
      holidays: [],
    });
    expect(c.risk).toEqual({
      maxDailyCount: 5,
      maxDailyAmount: { USD: 2_000_000n, EUR: 2_000_000n, GBP: 2_000_000n },
      destinationCoolOffMs: 72 * 3_600_000,
      maxSharedDestinationPayees: 0,
      anomalyMultiple: 5,
    });
    expect(c.approvalThresholds.USD).toEqual({ single: 100_000n, dual: 1_000_000n });
    expect(c.approvalTimeoutMs).toBe(48 * 3_600_000);
    expect(c.complianceWaitMs).toBe(7 * 86_400_000);
    // Resolved from the sources, so npm start works from any directory.
    expect(c.sanctionsFile).toBe(
      fileURLToPath(new URL('../../config/sanctions.sample.csv', import.meta.url)),
    );
    expect(c.webhooks).toEqual({ endpoints: [] });
  });

  it('is what the payout service takes as its settings (checked by the type-checker)', () => {
    const settings: PayoutSettings = parse({});
    expect(settings.instantLimits.USD).toBe(500_000n);
  });

  it('is part of loadConfig()', () => {
    expect(loadConfig({ PAYOUT_WITHHOLDING_BPS: '3000' }).payouts.withholdingBps).toBe(3000);
  });

  it('reads every variable', () => {
    const secret = generateWebhookSecret();
    const c = parse({
      DISBURSE_PROVIDERS: JSON.stringify([
        {
          name: 'sandbox_a',
          kind: 'sandbox',
          scenario: { latencyMs: 50, outage: true },
          capabilities: { priority: 1, cost: { fixedMinor: '10', bps: 20 } },
        },
        { name: 'manual', kind: 'manual', exportDestinations: true },
      ]),
      PAYOUT_INSTANT_LIMITS: 'USD:100',
      PAYOUT_INSTANT_FEES: '{"USD":{"fixedMinor":5,"bps":0}}',
      PAYOUT_WINDOW_TIMEZONE: 'America/New_York',
      PAYOUT_WINDOW_DAYS: 'Mon, Wed',
      PAYOUT_WINDOW_TIME: '09:30',
      PAYOUT_HOLIDAYS: '2026-12-25',
      RISK_DESTINATION_COOL_OFF: '0s',
      RISK_ANOMALY_MULTIPLE: '2.5',
      APPROVAL_THRESHOLD_SINGLE: 'USD:10',
      APPROVAL_THRESHOLD_DUAL: 'USD:20',
      APPROVAL_TIMEOUT: '15m',
      WEBHOOK_ENDPOINTS: 'https://platform.example/hooks',
      WEBHOOK_SECRET: secret,
    });
    expect(c.providers[0]).toMatchObject({
      name: 'sandbox_a',
      scenario: { latencyMs: 50, outage: true },
      capabilities: { priority: 1, cost: { fixedMinor: 10n, bps: 20 } },
    });
    expect(c.providers[1]).toEqual({
      name: 'manual',
      kind: 'manual',
      capabilities: {},
      exportDestinations: true,
    });
    expect(c.calendar).toEqual({
      timezone: 'America/New_York',
      days: ['mon', 'wed'],
      time: '09:30',
      holidays: ['2026-12-25'],
    });
    expect(c.instantFees).toEqual({ USD: { fixedMinor: 5n, bps: 0 } });
    expect(c.risk.destinationCoolOffMs).toBe(0);
    expect(c.risk.anomalyMultiple).toBe(2.5);
    expect(c.approvalThresholds).toEqual({ USD: { single: 10n, dual: 20n } });
    expect(c.approvalTimeoutMs).toBe(900_000);
    expect(c.webhooks.endpoints).toEqual([{ url: 'https://platform.example/hooks', secrets: [secret] }]);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ DISBURSE_PROVIDERS: 'adyen' }, /DISBURSE_PROVIDERS: .*must start with sandbox, manual, stripe/],
    [{ DISBURSE_PROVIDERS: 'sandbox,sandbox' }, /used twice/],
    [
      { DISBURSE_PROVIDERS: '[{"name":"x","kind":"sandbox","scenario":{"latency":1}}]' },
      /DISBURSE_PROVIDERS: 0\.scenario/,
    ],
    [
      { PAYOUT_INSTANT_LIMITS: 'USD:12.50' },
      /PAYOUT_INSTANT_LIMITS: "USD:12.50" must be CURRENCY:minorUnits/,
    ],
    [{ PAYOUT_INSTANT_FEES: '{"USD":{"bps":1.5}}' }, /PAYOUT_INSTANT_FEES: USD.bps/],
    [{ PAYOUT_INSTANT_FEES: 'cheap' }, /must be JSON/],
    [{ PAYOUT_WITHHOLDING_BPS: '24%' }, /PAYOUT_WITHHOLDING_BPS/],
    [{ PAYOUT_WINDOW_TIMEZONE: 'Mars/Base' }, /PAYOUT_WINDOW_TIMEZONE: unknown IANA timezone/],
    [{ PAYOUT_WINDOW_DAYS: 'monday' }, /PAYOUT_WINDOW_DAYS: unknown weekday/],
    [{ PAYOUT_WINDOW_TIME: '5pm' }, /PAYOUT_WINDOW_TIME/],
    [{ PAYOUT_HOLIDAYS: '25/12/2026' }, /PAYOUT_HOLIDAYS/],
    [{ RISK_DESTINATION_COOL_OFF: '3 days' }, /RISK_DESTINATION_COOL_OFF: "3 days" is not a duration/],
    [{ RISK_ANOMALY_MULTIPLE: '1.234' }, /RISK_ANOMALY_MULTIPLE/],
    [
      { APPROVAL_THRESHOLD_DUAL: 'USD:10' },
      /APPROVAL_THRESHOLD_DUAL: USD dual-approval threshold 10 is below/,
    ],
    [{ APPROVAL_THRESHOLD_SINGLE: 'USD:1,JPY:5' }, /JPY needs a threshold in both/],
    [{ WEBHOOK_ENDPOINTS: 'https://x.example/h' }, /WEBHOOK_SECRET: .*signing secret is required/],
    [{ WEBHOOK_SECRET: 'hunter2' }, /WEBHOOK_SECRET: webhook secret must look like whsec_/],
    [
      { WEBHOOK_ENDPOINTS: 'ftp://x', WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      /must be http/,
    ],
  ])('rejects %p', (env, message) => {
    expect(() => parse(env)).toThrow(ConfigError);
    expect(() => parse(env)).toThrow(message);
  });

  it('parses durations and amount maps', () => {
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseAmountMap('')).toEqual({});
    expect(() => parseAmountMap('USD:1,USD:2')).toThrow(/twice/);
    expect(parseProviderSettings('sandbox, sandbox_b ,manual').map((p) => [p.name, p.kind])).toEqual([
      ['sandbox', 'sandbox'],
      ['sandbox_b', 'sandbox'],
      ['manual', 'manual'],
    ]);
  });
});
