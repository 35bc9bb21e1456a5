/**
 * Bulk payout requests, run by a workflow: the request's snapshot (who is paid what, who is skipped and why)
 * is committed once, then `bulk-<id>` starts the payouts in waves from `bulk_payouts` (the same queue shape
 * as `period_payouts`) and records the outcome counts when none is in flight any more.
 */
export const name = '0072-payout-bulks';

export const up = `
CREATE TABLE payout_bulks (
  id text PRIMARY KEY,
  criteria jsonb NOT NULL,
  currency text NOT NULL,
  method text NOT NULL,
  instant boolean NOT NULL,
  requested_by text NOT NULL,
  requested_role text NOT NULL,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed')),
  cancellation jsonb,
  summary jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE bulk_payouts (
  bulk_id text NOT NULL REFERENCES payout_bulks (id),
  payee_id text NOT NULL,
  payout_id text NOT NULL UNIQUE,
  seq integer NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  started boolean NOT NULL DEFAULT false,
  PRIMARY KEY (bulk_id, payee_id)
);
CREATE INDEX bulk_payouts_seq ON bulk_payouts (bulk_id, seq);
CREATE TABLE bulk_skipped (
  bulk_id text NOT NULL REFERENCES payout_bulks (id),
  payee_id text NOT NULL,
  reason text NOT NULL,
  PRIMARY KEY (bulk_id, payee_id)
);
`;
