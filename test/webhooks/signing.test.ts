import { describe, expect, it } from '@jest/globals';
import {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
} from '../../src/webhooks/index.ts';

describe('Standard Webhooks signing', () => {
  it('matches the Standard Webhooks reference vector', () => {
    const headers = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', {
      id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      timestamp: new Date(1614265330 * 1000),
      body: '{"test": 2432232314}',
    });
    expect(headers).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  const secret = generateWebhookSecret();
  const body = Buffer.from('{"type":"payout.paid","data":{"payoutId":"p1"}}');
  const now = new Date('2026-11-21T12:00:00Z');
  const headers = signWebhook(secret, { id: 'payout.paid:p1', timestamp: now, body });

  it('verifies its own signature', () => {
    expect(verifyWebhook(secret, headers, body, { now })).toEqual({ id: 'payout.paid:p1', timestamp: now });
  });

  it('accepts any of several secrets (rotation), and headers in any case', () => {
    const other = generateWebhookSecret();
    const both = signWebhook([other, secret], { id: 'e1', timestamp: now, body });
    expect(both['webhook-signature'].split(' ')).toHaveLength(2);
    const upper = Object.fromEntries(Object.entries(both).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(secret, upper, body, { now }).id).toBe('e1');
  });

  it.each<[string, Record<string, string | undefined>, Buffer, Date, string]>([
    ['tampered body', headers, Buffer.from(`${body.toString()} `), now, 'invalid_signature'],
    ['other event id', { ...headers, 'webhook-id': 'payout.paid:p2' }, body, now, 'invalid_signature'],
    ['missing signature', { ...headers, 'webhook-signature': undefined }, body, now, 'missing_headers'],
    ['non-numeric timestamp', { ...headers, 'webhook-timestamp': '12:00' }, body, now, 'invalid_timestamp'],
    ['replayed 6 minutes later', headers, body, new Date(now.getTime() + 6 * 60_000), 'stale_timestamp'],
    ['timestamp from the future', headers, body, new Date(now.getTime() - 6 * 60_000), 'stale_timestamp'],
    [
      'unknown signature version',
      { ...headers, 'webhook-signature': headers['webhook-signature']!.replace('v1,', 'v2,') },
      body,
      now,
      'invalid_signature',
    ],
  ])('rejects %s', (_label, h, b, at, code) => {
    expect(() => verifyWebhook(secret, h, b, { now: at })).toThrow(WebhookVerificationError);
    try {
      verifyWebhook(secret, h, b, { now: at });
    } catch (err) {
      expect((err as WebhookVerificationError).code).toBe(code);
    }
  });

  it('rejects a signature made with another secret', () => {
    expect(() => verifyWebhook(generateWebhookSecret(), headers, body, { now })).toThrow(
      /no webhook-signature matches/,
    );
  });

  it.each(['secret', 'whsec_', 'whsec_!!!', 'whsec_c2hvcnQ='])('rejects malformed secret %p', (bad) => {
    expect(() => signWebhook(bad, { id: 'x', body: '' })).toThrow(/whsec_|16 bytes/);
  });
});
