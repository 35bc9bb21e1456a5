// DISBURSE_PROVIDERS entries of kind paypal: app credentials and webhook id(s) from the environment or *_FILE,
// errors naming the missing variable (never a value), secrets that never print; the registry builds the adapter.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import {
  createProviderRegistry,
  type PayoutProviderSettings,
  parseProviderSettings,
} from '../../../src/providers/index.ts';
import { PaypalProvider } from '../../../src/providers/paypal/provider.ts';
import type { PaypalProviderSettings } from '../../../src/providers/settings.ts';

const ID = 'AYSq3RDGsmBLJE-otTkBtM-jBRd1TCQwFf9RGfwddNXWz0uFU9ztymylOhRS';
const SECRET = 'EGnHDxD_qRPdaLdZz8iCr8N7_MzF-YHPTkjs6NKYQvQSBngp4PTTVWkPZRbL';
const HOOK = '8PT597110X687430LKGECATA';
const env = { PAYPAL_CLIENT_ID: ID, PAYPAL_CLIENT_SECRET: SECRET, PAYPAL_WEBHOOK_ID: HOOK };
const parse = (text: string, e: Record<string, string>) =>
  parseProviderSettings(text, e) as PaypalProviderSettings[];

describe('paypal provider settings', () => {
  it('reads <NAME>_CLIENT_ID, _CLIENT_SECRET and _WEBHOOK_ID by default; live API unless told otherwise', () => {
    const [s] = parse('paypal', env);
    expect([s!.kind, s!.clientId.reveal(), s!.clientSecret.reveal()]).toEqual(['paypal', ID, SECRET]);
    expect(s!.webhookIds.map((w) => w.reveal())).toEqual([HOOK]);
    expect([s!.apiBase, s!.timeoutMs]).toEqual(['https://api-m.paypal.com', 30_000]);
  });

  it('several accounts are several named entries; webhook ids rotate comma-separated; secrets from *_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'paypal-secrets-'));
    writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
    const two = parse(
      '[{"kind":"paypal","name":"paypal"},{"kind":"paypal","name":"paypal-eu","apiBase":"https://api-m.sandbox.paypal.com","clientSecretEnv":"EU_SECRET","capabilities":{"currencies":["EUR"]}}]',
      {
        ...env,
        PAYPAL_EU_CLIENT_ID: ID,
        EU_SECRET_FILE: join(dir, 'secret'),
        PAYPAL_EU_WEBHOOK_ID: `OLDHOOK12345,${HOOK}`,
      },
    );
    expect(two[1]!.clientSecret.reveal()).toBe(SECRET);
    expect(two[1]!.clientSecret.source).toBe('EU_SECRET_FILE');
    expect(two[1]!.webhookIds.map((w) => w.reveal())).toEqual(['OLDHOOK12345', HOOK]);
    expect(two[1]!.apiBase).toBe('https://api-m.sandbox.paypal.com');
  });

  it('names the missing or wrong credential, never its value', () => {
    expect(() => parse('paypal', { PAYPAL_CLIENT_SECRET: SECRET, PAYPAL_WEBHOOK_ID: HOOK })).toThrow(
      'provider "paypal" (paypal): missing credential, set PAYPAL_CLIENT_ID (or PAYPAL_CLIENT_ID_FILE)',
    );
    expect(() => parse('paypal', { ...env, PAYPAL_WEBHOOK_ID: '' })).toThrow(/set PAYPAL_WEBHOOK_ID/);
    let message = '';
    try {
      parse('paypal', { ...env, PAYPAL_WEBHOOK_ID: 'not a webhook id!' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/PAYPAL_WEBHOOK_ID must be the id of the app's registered webhook/);
    expect(message).not.toContain('not a webhook id!');
    expect(() => parse('[{"kind":"paypal","name":"paypal","clientSecret":"x"}]', env)).toThrow(
      /clientSecret/,
    );
  });

  it('secrets never print: JSON, inspect and string forms name only their source', () => {
    const [s] = parse('paypal', env);
    for (const text of [JSON.stringify(s), inspect(s, { depth: 5 }), String(s!.clientSecret)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(ID);
    }
    expect(JSON.stringify(s)).toContain('[secret from PAYPAL_CLIENT_SECRET]');
  });

  it('the registry builds a PaypalProvider with wallet capabilities (configured ones win)', async () => {
    const settings: PayoutProviderSettings[] = parseProviderSettings(
      '[{"kind":"paypal","name":"paypal","capabilities":{"currencies":["USD"],"rails":["batch"]}},{"kind":"sandbox","name":"sandbox"}]',
      env,
    );
    const registry = createProviderRegistry(settings, { db: {} as never });
    const paypal = registry.require('paypal');
    expect(paypal).toBeInstanceOf(PaypalProvider);
    expect(paypal.capabilities()).toMatchObject({
      methods: ['wallet'],
      currencies: ['USD'],
      rails: ['batch'],
    });
    await registry.stop();
  });
});
