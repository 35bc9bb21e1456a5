// The SubmitRequest the provider tests submit: a fresh payout on each call, with the fields a test changes.
import type { SubmitRequest } from '../../src/providers/types.ts';

/** Fields to change; those of `payee` replace the default payee's one by one. */
export type RequestOverrides = Partial<Omit<SubmitRequest, 'payee'>> & {
  payee?: Partial<SubmitRequest['payee']>;
};

let seq = 0;

/** USD 100.00 by instant bank transfer to a US payee, under new payout, key and payee ids; `overrides` on top. */
export function submitRequest(overrides: RequestOverrides = {}): SubmitRequest {
  seq++;
  const { payee, ...fields } = overrides;
  return {
    idempotencyKey: `po_${seq}-1`,
    payoutId: `po_${seq}`,
    amount: { amount: '10000', currency: 'USD', scale: 2 },
    method: 'bank_transfer',
    rail: 'instant',
    destination: 'US-ACCT-55512345',
    ...fields,
    payee: { id: `pe_${seq}`, country: 'US', name: 'Alice Payee', ...payee },
  };
}
