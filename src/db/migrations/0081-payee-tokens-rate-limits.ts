/**
 * Payee token records and revocation, and the rate limiter's buckets — both in PostgreSQL so that every API
 * process sees the same revocations and spends from the same budget.
 *
 * payee_tokens: one row per issued token (its jti). A token is honoured only while its row exists, belongs
 * to the token's payee and is not revoked, so a token can be revoked by id and a forged one (even with the
 * signing key) finds no row. payee_token_cutoffs: per payee, tokens issued before `not_before` are refused
 * ("revoke all"). rate_limit_buckets: one token bucket per caller, in milli-tokens and epoch milliseconds
 * (integers, updated by one statement); UNLOGGED because a crash that empties them only refills budgets.
 */
export const name = '0081-payee-tokens-rate-limits';

export const up = `
CREATE TABLE payee_tokens (
  id text PRIMARY KEY,
  payee_id text NOT NULL REFERENCES payees (id),
  issued_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  issued_by text NOT NULL,
  revoked_at timestamptz,
  revoked_by text,
  CHECK (expires_at > issued_at),
  CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX payee_tokens_payee ON payee_tokens (payee_id, expires_at);

CREATE TABLE payee_token_cutoffs (
  payee_id text PRIMARY KEY REFERENCES payees (id),
  not_before timestamptz NOT NULL,
  set_at timestamptz NOT NULL,
  set_by text NOT NULL
);

CREATE UNLOGGED TABLE rate_limit_buckets (
  key text PRIMARY KEY,
  milli_tokens bigint NOT NULL CHECK (milli_tokens >= 0),
  at_ms bigint NOT NULL,
  allowed boolean NOT NULL
);
CREATE INDEX rate_limit_buckets_at ON rate_limit_buckets (at_ms);
`;
