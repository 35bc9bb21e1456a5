/**
 * Payout records: the request as the platform made it and the last committed state of its workflow
 * (for listing, CSV export and risk facts). The workflow is the source of truth while it runs; this
 * row is written by its activities after each transition, together with the webhook outbox event.
 */
export const name = '0040-payouts';

export const up = `
CREATE TABLE payouts (
  id text PRIMARY KEY CHECK (id ~ '^po_[a-z0-9]{8,64}$'),
  payee_id text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  scale smallint NOT NULL CHECK (scale BETWEEN 0 AND 4),
  method text NOT NULL CHECK (method IN ('bank_transfer', 'wallet', 'card', 'crypto')),
  instant_requested boolean NOT NULL,
  status text NOT NULL,
  rail text CHECK (rail IN ('instant', 'scheduled')),
  provider text,
  fee bigint NOT NULL DEFAULT 0 CHECK (fee >= 0),
  withholding bigint NOT NULL DEFAULT 0 CHECK (withholding >= 0),
  requested_by text NOT NULL,
  requested_role text NOT NULL,
  period_id text,
  bulk_id text,
  status_doc jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payouts_payee_idx ON payouts (payee_id, created_at DESC);
CREATE INDEX payouts_status_idx ON payouts (status, created_at DESC);
CREATE INDEX payouts_created_idx ON payouts (created_at DESC, id DESC);
`;
