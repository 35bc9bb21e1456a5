/**
 * Spendback and promotional credits. `credit_grants` tracks what is left of every grant (the ledger's
 * payee_restricted balance is their sum), so spend order (soonest expiry first), refunds back to the
 * same grant and the remainder returned at expiry are exact. `spendback_orders` / `_allocations` /
 * `_refunds` record where each order's money came from so refunds go back to the same balances.
 * `trigger_firings` makes each automated rule fire at most once per (rule, payee, occasion).
 */
export const name = '0060-spendback';

export const up = `
CREATE TABLE credit_grants (
  id text PRIMARY KEY CHECK (id ~ '^cg_[a-z0-9]{8,64}$'),
  payee_id text NOT NULL,
  reference text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount bigint NOT NULL CHECK (amount > 0),
  remaining bigint NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired')),
  source text NOT NULL CHECK (source IN ('manual', 'rule')),
  rule_id text,
  rule_version text,
  reason text,
  expires_at timestamptz NOT NULL,
  expired_amount bigint,
  expired_at timestamptz,
  notice_sent_at timestamptz,
  timer_started boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT credit_grants_payee_reference_key UNIQUE (payee_id, reference)
);
CREATE INDEX credit_grants_spend_idx ON credit_grants (payee_id, currency, expires_at, id) WHERE status = 'active';
CREATE INDEX credit_grants_timer_idx ON credit_grants (created_at) WHERE NOT timer_started;

CREATE TABLE spendback_orders (
  payee_id text NOT NULL,
  order_reference text NOT NULL,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount bigint NOT NULL CHECK (amount > 0),
  from_restricted bigint NOT NULL CHECK (from_restricted >= 0),
  from_available bigint NOT NULL CHECK (from_available >= 0),
  refunded_available bigint NOT NULL DEFAULT 0 CHECK (refunded_available >= 0 AND refunded_available <= from_available),
  transaction_id text NOT NULL,
  bonus_grant_id text,
  discount jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (payee_id, order_reference),
  CHECK (from_restricted + from_available = amount)
);

CREATE TABLE spendback_allocations (
  payee_id text NOT NULL,
  order_reference text NOT NULL,
  grant_id text NOT NULL REFERENCES credit_grants (id),
  seq smallint NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  refunded bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
  PRIMARY KEY (payee_id, order_reference, grant_id),
  FOREIGN KEY (payee_id, order_reference) REFERENCES spendback_orders (payee_id, order_reference)
);

CREATE TABLE spendback_refunds (
  payee_id text NOT NULL,
  order_reference text NOT NULL,
  refund_reference text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  to_available bigint NOT NULL,
  to_restricted bigint NOT NULL,
  to_platform bigint NOT NULL,
  transaction_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (payee_id, order_reference, refund_reference),
  FOREIGN KEY (payee_id, order_reference) REFERENCES spendback_orders (payee_id, order_reference),
  CHECK (to_available + to_restricted + to_platform = amount)
);

CREATE TABLE trigger_firings (
  rule_id text NOT NULL,
  payee_id text NOT NULL,
  occasion text NOT NULL,
  kind text NOT NULL,
  rule_version text NOT NULL,
  period text NOT NULL,
  currency text NOT NULL,
  basis bigint NOT NULL,
  grant_id text REFERENCES credit_grants (id),
  discount_bps integer,
  reported_order text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_id, payee_id, occasion)
);
CREATE INDEX trigger_firings_payee_idx ON trigger_firings (payee_id, created_at);
`;
