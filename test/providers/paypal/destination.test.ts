// The payee's wallet destination (as the payout service builds it: `<provider>/<normalised wallet id>`) to
// PayPal's receiver, and minor units to PayPal's decimal amount strings — table-driven.
import { describe, expect, it } from '@jest/globals';
import { isProviderError } from '../../../src/providers/errors.ts';
import {
  parsePaypalDestination,
  paypalScale,
  paypalValue,
} from '../../../src/providers/paypal/destination.ts';

describe('PayPal destinations', () => {
  it.each([
    ['paypal/JANE.DOE+SHOP@EXAMPLE.COM', 'PAYPAL', 'EMAIL', 'jane.doe+shop@example.com'],
    ['paypal/ABCDEFGHJK123', 'PAYPAL', 'PAYPAL_ID', 'ABCDEFGHJK123'],
    ['paypal/+14085550100', 'PAYPAL', 'PHONE', '4085550100'],
    ['paypal/+447700900123', 'PAYPAL', 'PHONE', '447700900123'],
    ['venmo/4085550100', 'VENMO', 'PHONE', '4085550100'],
    ['venmo/14085550100', 'VENMO', 'PHONE', '4085550100'],
    ['venmo/SELLER@EXAMPLE.COM', 'VENMO', 'EMAIL', 'seller@example.com'],
    ['JANE@EXAMPLE.COM', 'PAYPAL', 'EMAIL', 'jane@example.com'],
  ])('%s → %s %s %s', (destination, wallet, recipientType, receiver) => {
    expect(parsePaypalDestination('paypal', destination)).toEqual({ wallet, recipientType, receiver });
  });

  it.each([
    ['stripe/acct_1234567890', /not PayPal or Venmo/],
    ['venmo/+447700900123', /US mobile numbers only/],
    ['venmo/ABCDEFGHJK123', /US mobile number or an email/],
    ['paypal/@JANEDOE', /email, a PayPal payer id or a phone number/],
    ['paypal/12345', /email, a PayPal payer id or a phone number/],
  ])('%s is a hard decline (invalid_destination)', (destination, message) => {
    let caught: unknown;
    try {
      parsePaypalDestination('paypal', destination);
    } catch (err) {
      caught = err;
    }
    expect(isProviderError(caught) && [caught.kind, caught.code]).toEqual([
      'hard_decline',
      'invalid_destination',
    ]);
    expect((caught as Error).message).toMatch(message);
  });

  it.each([
    [2500n, 'USD', '25.00'],
    [1n, 'EUR', '0.01'],
    [100000000000000001n, 'USD', '1000000000000000.01'],
    [1500n, 'JPY', '1500'],
    [7n, 'HUF', '7'],
  ])('%p minor %s → "%s"', (minor, currency, value) => {
    expect(paypalValue(minor, paypalScale(currency))).toBe(value);
  });
});
