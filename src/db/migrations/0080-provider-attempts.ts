/**
 * Attempt journal of the real payout adapters (Stripe, and later PayPal, Wise, Circle): one row per
 * (provider, idempotency key), written before the provider is called, so a cancel can tell "never sent"
 * (void the key) from "maybe sent" (look it up at the provider). Holds provider object ids and a request
 * hash; never a destination.
 */
export const name = '0080-provider-attempts';

export const up = `
CREATE TABLE provider_attempts (
  provider text NOT NULL,
  idempotency_key text NOT NULL,
  payout_id text NOT NULL,
  request_hash text NOT NULL,
  refs jsonb NOT NULL DEFAULT '{}'::jsonb,
  state text NOT NULL DEFAULT 'submitting',
  paid_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, idempotency_key)
);
CREATE INDEX provider_attempts_payout ON provider_attempts (payout_id);
`;
