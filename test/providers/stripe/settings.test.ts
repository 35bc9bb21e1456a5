// DISBURSE_PROVIDERS entries of kind stripe: credentials from the environment or *_FILE, errors naming the
// missing variable (never a value), secrets that never print.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { parseProviderSettings, type StripeProviderSettings } from '../../../src/providers/index.ts';

const KEY = 'sk_test_51AbCdEfGhIjKlMnOp';
const WHSEC = 'whsec_c2VjcmV0LW9uZQ==';

const parseStripe = (text: string, env: Record<string, string>) =>
  parseProviderSettings(text, env) as StripeProviderSettings[];

describe('stripe provider settings', () => {
  it('reads <NAME>_SECRET_KEY and <NAME>_WEBHOOK_SECRET by default, with defaults for the rest', () => {
    const [s] = parseStripe('[{"kind":"stripe","name":"stripe-us"}]', {
      STRIPE_US_SECRET_KEY: KEY,
      STRIPE_US_WEBHOOK_SECRET: WHSEC,
    });
    expect(s!.secretKey.reveal()).toBe(KEY);
    expect(s!.webhookSecrets.map((w) => w.reveal())).toEqual([WHSEC]);
    expect(s!.apiBase).toBe('https://api.stripe.com');
    expect([s!.timeoutMs, s!.webhookToleranceSeconds]).toEqual([30_000, 300]);
  });

  it('the short form `stripe` reads STRIPE_SECRET_KEY; several accounts are several named entries', () => {
    const env = {
      STRIPE_SECRET_KEY: KEY,
      STRIPE_WEBHOOK_SECRET: WHSEC,
      EU_KEY: 'sk_live_9zz',
      EU_HOOK: `${WHSEC},whsec_bmV4dA==`,
    };
    expect(parseStripe('stripe,sandbox', env).map((p) => p.kind)).toEqual(['stripe', 'sandbox']);
    const two = parseStripe(
      '[{"kind":"stripe","name":"stripe"},{"kind":"stripe","name":"stripe_eu","secretKeyEnv":"EU_KEY","webhookSecretEnv":"EU_HOOK","capabilities":{"currencies":["EUR"]}}]',
      env,
    );
    expect(two[1]!.secretKey.reveal()).toBe('sk_live_9zz');
    expect(two[1]!.webhookSecrets).toHaveLength(2); // rotation: both verify
  });

  it('reads secrets from *_FILE paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stripe-secrets-'));
    writeFileSync(join(dir, 'key'), `${KEY}\n`);
    writeFileSync(join(dir, 'hook'), WHSEC);
    const [s] = parseStripe('stripe', {
      STRIPE_SECRET_KEY_FILE: join(dir, 'key'),
      STRIPE_WEBHOOK_SECRET_FILE: join(dir, 'hook'),
    });
    expect(s!.secretKey.reveal()).toBe(KEY);
    expect(s!.secretKey.source).toBe('STRIPE_SECRET_KEY_FILE');
  });

  it('names the missing or wrong credential, never its value', () => {
    expect(() => parseStripe('stripe', { STRIPE_WEBHOOK_SECRET: WHSEC })).toThrow(
      'provider "stripe" (stripe): missing credential, set STRIPE_SECRET_KEY (or STRIPE_SECRET_KEY_FILE)',
    );
    expect(() => parseStripe('stripe', { STRIPE_SECRET_KEY: KEY })).toThrow(/set STRIPE_WEBHOOK_SECRET/);
    let message = '';
    try {
      parseStripe('stripe', { STRIPE_SECRET_KEY: 'pk_test_publishable123', STRIPE_WEBHOOK_SECRET: WHSEC });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/STRIPE_SECRET_KEY must be a Stripe secret key/);
    expect(message).not.toContain('pk_test_publishable123');
    expect(() =>
      parseStripe('stripe', { STRIPE_SECRET_KEY_FILE: '/nonexistent/key', STRIPE_WEBHOOK_SECRET: WHSEC }),
    ).toThrow(/cannot read STRIPE_SECRET_KEY_FILE \(\/nonexistent\/key\): ENOENT/);
    expect(() => parseStripe('[{"kind":"stripe","name":"stripe","apiKey":"sk_test_x"}]', {})).toThrow(
      /apiKey/,
    );
  });

  it('secrets never print: JSON, inspect and string forms name only their source', () => {
    const [s] = parseStripe('stripe', { STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: WHSEC });
    for (const text of [JSON.stringify(s), inspect(s, { depth: 5 }), String(s!.secretKey)]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(WHSEC);
    }
    expect(JSON.stringify(s)).toContain('[secret from STRIPE_SECRET_KEY]');
  });
});

describe('stripe in the provider registry', () => {
  it('builds a StripeProvider with the configured capabilities', async () => {
    const { createProviderRegistry, StripeProvider } = await import('../../../src/providers/index.ts');
    const settings = parseStripe(
      '[{"kind":"stripe","name":"stripe","capabilities":{"currencies":["USD","CAD"],"countries":["US","CA"],"rails":["batch"],"limits":{"USD":{"min":100,"max":500000}}}},{"kind":"sandbox","name":"sandbox"}]',
      { STRIPE_SECRET_KEY: KEY, STRIPE_WEBHOOK_SECRET: WHSEC },
    );
    // No database call happens until a payout is submitted.
    const registry = createProviderRegistry(settings, { db: {} as never });
    const stripe = registry.require('stripe');
    expect(stripe).toBeInstanceOf(StripeProvider);
    expect(stripe.capabilities()).toMatchObject({
      methods: ['wallet', 'card'],
      currencies: ['USD', 'CAD'],
      countries: ['US', 'CA'],
      rails: ['batch'],
      limits: { USD: { min: 100n, max: 500_000n } },
    });
    await registry.stop();
  });
});
