// DISBURSE_PROVIDERS entries of kind wise: profile, API token and webhook public keys from the environment or
// *_FILE, errors naming the missing variable (never a value), secrets that never print.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import {
  createProviderRegistry,
  parseProviderSettings,
  WiseProvider,
  type WiseProviderSettings,
} from '../../../src/providers/index.ts';
import { createTestDatabase } from '../../support/db.ts';

const TOKEN = 'b3f1c2d4-0000-4a1b-9c2d-123456789abc';
const pem = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
const KEY = pem();

const parseWise = (text: string, env: Record<string, string>) =>
  parseProviderSettings(text, env) as WiseProviderSettings[];

describe('wise provider settings', () => {
  it('reads <NAME>_PROFILE_ID, <NAME>_API_TOKEN and <NAME>_WEBHOOK_PUBLIC_KEY by default', () => {
    const [s] = parseWise('wise', {
      WISE_PROFILE_ID: '12345',
      WISE_API_TOKEN: TOKEN,
      WISE_WEBHOOK_PUBLIC_KEY: KEY,
    });
    expect([s!.kind, s!.profileId, s!.apiBase, s!.timeoutMs]).toEqual([
      'wise',
      12345,
      'https://api.wise.com',
      30_000,
    ]);
    expect(s!.apiToken.reveal()).toBe(TOKEN);
    expect(s!.webhookPublicKeys.map((k) => k.reveal().trim())).toEqual([KEY.trim()]);
  });

  it('JSON form: profileId, the sandbox URL, named variables, two keys while Wise rotates', () => {
    const next = pem();
    const [s] = parseWise(
      '[{"kind":"wise","name":"wise-eu","profileId":777,"apiBase":"https://api.sandbox.transferwise.tech","apiTokenEnv":"EU_TOKEN","webhookPublicKeyEnv":"EU_KEYS","capabilities":{"currencies":["EUR"]}}]',
      { EU_TOKEN: TOKEN, EU_KEYS: `${KEY}\n${next}` },
    );
    expect([s!.name, s!.profileId, s!.apiBase]).toEqual([
      'wise-eu',
      777,
      'https://api.sandbox.transferwise.tech',
    ]);
    expect(s!.webhookPublicKeys).toHaveLength(2);
  });

  it('reads secrets from *_FILE paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wise-secrets-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    writeFileSync(join(dir, 'key.pem'), KEY);
    const [s] = parseWise('wise', {
      WISE_PROFILE_ID: '1',
      WISE_API_TOKEN_FILE: join(dir, 'token'),
      WISE_WEBHOOK_PUBLIC_KEY_FILE: join(dir, 'key.pem'),
    });
    expect(s!.apiToken.reveal()).toBe(TOKEN);
    expect(s!.webhookPublicKeys[0]!.source).toBe('WISE_WEBHOOK_PUBLIC_KEY_FILE[0]');
  });

  it('errors name what is missing, never a value', () => {
    const ok = { WISE_PROFILE_ID: '1', WISE_API_TOKEN: TOKEN, WISE_WEBHOOK_PUBLIC_KEY: KEY };
    expect(() => parseWise('wise', { ...ok, WISE_PROFILE_ID: '' })).toThrow(
      /missing profileId.*WISE_PROFILE_ID/,
    );
    expect(() => parseWise('wise', { ...ok, WISE_PROFILE_ID: 'abc' })).toThrow(/WISE_PROFILE_ID must be/);
    expect(() => parseWise('wise', { ...ok, WISE_API_TOKEN: '' })).toThrow(
      /missing credential, set WISE_API_TOKEN/,
    );
    expect(() => parseWise('wise', { ...ok, WISE_WEBHOOK_PUBLIC_KEY: 'not a key' })).toThrow(
      /WISE_WEBHOOK_PUBLIC_KEY must hold Wise's webhook public key in PEM/,
    );
    let message = '';
    try {
      parseWise('wise', { ...ok, WISE_API_TOKEN: 'short' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/WISE_API_TOKEN must be a Wise API token/);
    expect(message).not.toContain('short');
    expect(() => parseWise('[{"kind":"wise","name":"wise","profileId":1,"extra":true}]', ok)).toThrow(
      /extra/,
    );
  });

  it('the token never prints', () => {
    const [s] = parseWise('wise', {
      WISE_PROFILE_ID: '1',
      WISE_API_TOKEN: TOKEN,
      WISE_WEBHOOK_PUBLIC_KEY: KEY,
    });
    expect(inspect(s)).not.toContain(TOKEN);
    expect(JSON.stringify(s)).not.toContain(TOKEN);
  });

  it('the registry builds a WiseProvider: bank transfers on the batch rail, capabilities overridable', async () => {
    const db = await createTestDatabase('wise_registry');
    try {
      const settings = parseProviderSettings(
        '[{"kind":"wise","name":"wise","profileId":9,"capabilities":{"currencies":["EUR","GBP"]}}]',
        { WISE_API_TOKEN: TOKEN, WISE_WEBHOOK_PUBLIC_KEY: KEY },
      );
      const wise = createProviderRegistry(settings, { db }).require('wise');
      expect(wise).toBeInstanceOf(WiseProvider);
      const caps = wise.capabilities();
      expect([caps.methods, caps.rails, caps.currencies]).toEqual([
        ['bank_transfer'],
        ['batch'],
        ['EUR', 'GBP'],
      ]);
    } finally {
      await db.drop();
    }
  });
});
