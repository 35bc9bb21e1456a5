// DISBURSE_PROVIDERS entries of kind circle: API key from the environment or *_FILE, the paying wallet id,
// pinned notification keys; errors naming the missing variable (never a value); the key never prints.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { configVariables } from '../../../src/config/env-example.ts';
import { circleSchema } from '../../../src/providers/circle/settings.ts';
import { type CircleProviderSettings, parseProviderSettings } from '../../../src/providers/settings.ts';

const KEY = 'SAND_API_KEY:0123456789abcdef0123456789abcdef:fedcba9876543210fedcba9876543210';
const parse = (text: string, env: Record<string, string>) =>
  parseProviderSettings(text, env) as CircleProviderSettings[];

describe('circle provider settings', () => {
  it('the short form reads CIRCLE_API_KEY and CIRCLE_WALLET_ID, with defaults for the rest', () => {
    const [s] = parse('circle', { CIRCLE_API_KEY: KEY, CIRCLE_WALLET_ID: '1000216185' });
    expect([s!.kind, s!.walletId, s!.apiBase, s!.timeoutMs, s!.fetchWebhookKeys]).toEqual([
      'circle',
      '1000216185',
      'https://api.circle.com',
      30_000,
      true,
    ]);
    expect(s!.apiKey.reveal()).toBe(KEY);
    expect(s!.unsignedNotifications).toBe('refuse');
    expect(inspect(s)).not.toContain('fedcba');
    expect(JSON.stringify(s)).not.toContain('fedcba');
  });

  it('a named account reads its own variables or a _FILE, and pins notification keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'circle-settings-'));
    writeFileSync(join(dir, 'key'), `${KEY}\n`);
    const keyId = '879dc113-5ca4-4ff7-a6b7-54652083fcf8';
    const [s] = parse(
      JSON.stringify([
        {
          kind: 'circle',
          name: 'circle-eu',
          apiBase: 'https://api-sandbox.circle.com',
          walletId: '1000999',
          webhookPublicKeys: {
            [keyId]: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAESl76SZPBJemW0mJNN4KTvYkLT8bOT4UJJ',
          },
          fetchWebhookKeys: false,
        },
      ]),
      { CIRCLE_EU_API_KEY_FILE: join(dir, 'key') },
    );
    expect([s!.walletId, s!.apiKey.source, s!.fetchWebhookKeys]).toEqual([
      '1000999',
      'CIRCLE_EU_API_KEY_FILE',
      false,
    ]);
    expect(Object.keys(s!.webhookPublicKeys)).toEqual([keyId]);
  });

  it.each<[Record<string, string>, RegExp]>([
    [{ CIRCLE_WALLET_ID: '1' }, /provider "circle" \(circle\): missing credential, set CIRCLE_API_KEY/],
    [{ CIRCLE_API_KEY: KEY }, /missing walletId, set "walletId" or CIRCLE_WALLET_ID/],
    [{ CIRCLE_API_KEY: 'sk_test_abc', CIRCLE_WALLET_ID: '1' }, /CIRCLE_API_KEY must be a Circle API key/],
  ])('refuses %j naming what is wrong', (env, message) => {
    expect(() => parse('circle', env)).toThrow(message);
    try {
      parse('circle', env);
    } catch (err) {
      expect((err as Error).message).not.toContain('sk_test_abc');
    }
  });

  it('refuses unknown fields and malformed key ids', () => {
    const env = { CIRCLE_API_KEY: KEY, CIRCLE_WALLET_ID: '1' };
    expect(() => parse('[{"kind":"circle","name":"circle","entitySecret":"x"}]', env)).toThrow(
      /entitySecret/,
    );
    expect(() => parse('[{"kind":"circle","name":"circle","webhookPublicKeys":{"k1":"AAAA"}}]', env)).toThrow(
      /webhookPublicKeys\.k1/,
    );
  });

  it('networkFeeBearer: the platform by default, or the payee; anything else is refused by name', () => {
    const env = { CIRCLE_API_KEY: KEY, CIRCLE_WALLET_ID: '1000216185' };
    expect(parse('circle', env)[0]!.networkFeeBearer).toBe('platform');
    const entry = (bearer: string) =>
      JSON.stringify([{ kind: 'circle', name: 'circle', networkFeeBearer: bearer }]);
    expect(parse(entry('payee'), env)[0]!.networkFeeBearer).toBe('payee');
    expect(() => parse(entry('payer'), env)).toThrow(
      /networkFeeBearer: who bears the network fee: "platform" or "payee"/,
    );
  });

  it('pins the SNS topic of the Circle subscription; anything but a topic ARN is refused by name', () => {
    const env = { CIRCLE_API_KEY: KEY, CIRCLE_WALLET_ID: '1000216185' };
    const arn = 'arn:aws:sns:us-east-1:908968368384:fcb4a2c9-9c4f-4706-b312-6b22650f5d17';
    const [s] = parse(JSON.stringify([{ kind: 'circle', name: 'circle', snsTopicArns: [arn] }]), env);
    expect(s!.snsTopicArns).toEqual([arn]);
    expect(parse('circle', env)[0]!.snsTopicArns).toEqual([]);
    expect(() =>
      parse(JSON.stringify([{ kind: 'circle', name: 'circle', snsTopicArns: ['https://sns.example'] }]), env),
    ).toThrow(/snsTopicArns\.0: an SNS topic ARN/);
  });

  it("DISBURSE_PROVIDERS' description names every field a circle entry takes", () => {
    const described = configVariables().find((v) => v.name === 'DISBURSE_PROVIDERS')?.field.description ?? '';
    const fields = Object.keys(circleSchema(z.string(), z.unknown()).shape);
    expect(fields).toEqual(expect.arrayContaining(['networkFeeBearer', 'snsTopicArns']));
    expect(fields.filter((f) => !described.includes(f))).toEqual([]);
  });
});
