/**
 * Commission periods: earnings events (deduplicated by external id), the period row that gates them
 * (events land only while it is open), statements per calculation run, the batches of each stage that
 * have committed (what makes calculation and posting resumable), and the payouts a period started.
 */
export const name = '0050-periods';

export const up = `
CREATE TABLE periods (
  id text PRIMARY KEY CHECK (id ~ '^\\d{4}-(W\\d{2}|\\d{2}(-H[12])?)$'),
  status text NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'closed', 'reopened', 'posted', 'completed')),
  plan_version text,
  run integer NOT NULL DEFAULT 0,
  closed_at timestamptz,
  summary jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE earnings_events (
  external_id text PRIMARY KEY,
  period_id text NOT NULL REFERENCES periods (id),
  payee_id text NOT NULL REFERENCES payees (id),
  type text NOT NULL CHECK (type IN ('sale', 'commission', 'bonus', 'adjustment', 'clawback')),
  amount bigint NOT NULL CHECK (type = 'adjustment' OR amount > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  category text NOT NULL,
  volume bigint NOT NULL CHECK (volume >= 0),
  occurred_at timestamptz NOT NULL,
  late_from_period text,
  content_hash text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX earnings_events_period_payee ON earnings_events (period_id, payee_id);

CREATE TABLE period_statements (
  period_id text NOT NULL REFERENCES periods (id),
  run integer NOT NULL,
  payee_id text NOT NULL,
  currency text NOT NULL,
  batch integer NOT NULL,
  total bigint NOT NULL,
  lines jsonb NOT NULL,
  PRIMARY KEY (period_id, run, payee_id, currency)
);
CREATE INDEX period_statements_batch ON period_statements (period_id, run, batch);

-- The sponsor tree as it was when a calculation run started (sponsor changes mid-run cannot split it).
CREATE TABLE period_tree (
  period_id text NOT NULL REFERENCES periods (id),
  run integer NOT NULL,
  payee_id text NOT NULL,
  sponsor_id text,
  PRIMARY KEY (period_id, run, payee_id)
);

CREATE TABLE period_batches (
  period_id text NOT NULL REFERENCES periods (id),
  stage text NOT NULL CHECK (stage IN ('calculate', 'post')),
  run integer NOT NULL,
  batch integer NOT NULL,
  summary jsonb NOT NULL,
  committed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (period_id, stage, run, batch)
);

CREATE TABLE period_payouts (
  period_id text NOT NULL REFERENCES periods (id),
  payee_id text NOT NULL,
  payout_id text NOT NULL UNIQUE,
  seq integer NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  currency text NOT NULL,
  started boolean NOT NULL DEFAULT false,
  PRIMARY KEY (period_id, payee_id, currency)
);
CREATE INDEX period_payouts_seq ON period_payouts (period_id, seq);
`;
