/** Sandbox and manual provider records, and the outbound webhook outbox with its delivery attempts. */
export const name = '0030-payout-providers-webhooks';

export const up = `
-- Every disbursement the sandbox provider simulates. One row per (provider, idempotency key): submit is
-- idempotent on the key, and tests prove "at most once per payout" and "disbursed total = settled total".
CREATE TABLE sandbox_disbursements (
  provider text NOT NULL,
  idempotency_key text NOT NULL,
  payout_id text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
  currency text NOT NULL,
  scale integer NOT NULL,
  method text NOT NULL,
  rail text NOT NULL CHECK (rail IN ('instant', 'batch')),
  payee_id text NOT NULL,
  destination_masked text NOT NULL,
  provider_ref text NOT NULL UNIQUE,
  scenario text NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'paid', 'failed', 'returned')),
  planned_outcome text NOT NULL CHECK (planned_outcome IN ('paid', 'failed', 'never')),
  reason text,
  settle_at timestamptz,
  return_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  paid_at timestamptz,
  failed_at timestamptz,
  returned_at timestamptz,
  PRIMARY KEY (provider, idempotency_key)
);
CREATE INDEX sandbox_disbursements_payout ON sandbox_disbursements (payout_id);
CREATE INDEX sandbox_disbursements_due ON sandbox_disbursements (provider, settle_at) WHERE state = 'pending';
CREATE INDEX sandbox_disbursements_return_due ON sandbox_disbursements (provider, return_at) WHERE state = 'paid';

-- Submissions per key, so "fail the first N attempts with a retryable error" survives restarts.
CREATE TABLE sandbox_submit_attempts (
  provider text NOT NULL,
  idempotency_key text NOT NULL,
  attempts integer NOT NULL,
  PRIMARY KEY (provider, idempotency_key)
);

-- Provider-side events (paid/failed/returned) the sandbox posts as webhooks; written in the same transaction
-- as the state change, delivered afterwards (so a restart does not lose them).
CREATE TABLE sandbox_events (
  event_id text PRIMARY KEY,
  provider text NOT NULL,
  idempotency_key text NOT NULL,
  payout_id text NOT NULL,
  type text NOT NULL CHECK (type IN ('paid', 'failed', 'returned')),
  reason text,
  occurred_at timestamptz NOT NULL,
  deliver_at timestamptz NOT NULL,
  delivered_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX sandbox_events_undelivered ON sandbox_events (provider, deliver_at) WHERE delivered_at IS NULL;

-- Payouts queued for offline processing by an operator (manual provider).
CREATE TABLE manual_payouts (
  provider text NOT NULL,
  idempotency_key text NOT NULL,
  payout_id text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
  currency text NOT NULL,
  scale integer NOT NULL,
  method text NOT NULL,
  rail text NOT NULL,
  payee_id text NOT NULL,
  payee_name text NOT NULL,
  payee_country text NOT NULL,
  destination_masked text NOT NULL,
  -- AES-256-GCM envelope (src/crypto), only when the provider is configured with a keyring.
  destination_ciphertext text,
  provider_ref text NOT NULL UNIQUE,
  state text NOT NULL CHECK (state IN ('queued', 'exported', 'paid', 'failed', 'cancelled')),
  reason text,
  queued_at timestamptz NOT NULL DEFAULT now(),
  exported_at timestamptz,
  resolved_at timestamptz,
  PRIMARY KEY (provider, idempotency_key)
);
CREATE INDEX manual_payouts_state ON manual_payouts (provider, state, queued_at);

-- Outbound webhooks (Standard Webhooks). The id is derived from the business event
-- (e.g. payout.paid:<payoutId>), so enqueueing the same event twice is a no-op.
CREATE TABLE webhook_outbox (
  id text PRIMARY KEY CHECK (id <> '' AND id !~ '\\s'),
  type text NOT NULL,
  payload jsonb NOT NULL,
  occurred_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  attempts integer NOT NULL DEFAULT 0
);
CREATE INDEX webhook_outbox_undelivered ON webhook_outbox (created_at) WHERE delivered_at IS NULL;

CREATE TABLE webhook_delivery_attempts (
  id bigserial PRIMARY KEY,
  event_id text NOT NULL REFERENCES webhook_outbox (id),
  endpoint text NOT NULL,
  attempted_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer NOT NULL,
  http_status integer,
  ok boolean NOT NULL,
  error text
);
CREATE INDEX webhook_delivery_attempts_event ON webhook_delivery_attempts (event_id, endpoint);
`;
