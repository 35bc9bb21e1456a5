/** Payees, their encrypted destinations (one per kind) and the destination change history. */
export const name = '0011-payees';

export const up = `
CREATE TABLE payees (
  id text PRIMARY KEY,
  external_id text NOT NULL UNIQUE,
  name text NOT NULL,
  email text NOT NULL,
  country char(2) NOT NULL,
  default_currency char(3) NOT NULL,
  kyc_status text NOT NULL CHECK (kyc_status IN ('pending', 'verified', 'rejected')),
  tax_form text NOT NULL CHECK (tax_form IN ('w9', 'w8ben', 'none')),
  tax_tin_ciphertext text,
  tax_tin_last4 text,
  preferred_method text CHECK (preferred_method IN ('bank_account', 'wallet', 'card', 'crypto')),
  instant_opt_in boolean NOT NULL DEFAULT false,
  auto_payout boolean NOT NULL DEFAULT false,
  sponsor_id text REFERENCES payees (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((tax_form = 'w9') = (tax_tin_ciphertext IS NOT NULL))
);
CREATE INDEX payees_sponsor ON payees (sponsor_id);

CREATE TABLE payee_destinations (
  payee_id text NOT NULL REFERENCES payees (id),
  kind text NOT NULL CHECK (kind IN ('bank_account', 'wallet', 'card', 'crypto')),
  ciphertext text NOT NULL,
  key_id text NOT NULL,
  fingerprint text NOT NULL,
  display jsonb NOT NULL,
  added_at timestamptz NOT NULL,
  changed_at timestamptz NOT NULL,
  PRIMARY KEY (payee_id, kind)
);
CREATE INDEX payee_destinations_fingerprint ON payee_destinations (fingerprint);
CREATE INDEX payee_destinations_key_id ON payee_destinations (key_id);

CREATE TABLE payee_destination_changes (
  id bigserial PRIMARY KEY,
  payee_id text NOT NULL REFERENCES payees (id),
  kind text NOT NULL,
  change text NOT NULL CHECK (change IN ('added', 'changed')),
  fingerprint text NOT NULL,
  previous_fingerprint text,
  actor text NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX payee_destination_changes_payee ON payee_destination_changes (payee_id, kind, at);
`;
