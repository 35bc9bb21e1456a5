/**
 * The destination a payout was screened against (compliance, risk), as its keyed fingerprint: submission pays
 * only that destination. '' = screened while the payee had no destination of the payout's kind; NULL = the
 * payout was screened before this column existed (not checked).
 * Voided provider keys: an attempt key the payout workflow gave up on (status unknown to the provider) is voided
 * before failing over, so a submission with it that arrives late is refused instead of paying a second time.
 */
export const name = '0071-payout-destination-pin';

export const up = `
ALTER TABLE payouts ADD COLUMN destination_fingerprint text;
CREATE TABLE provider_voided_keys (
  provider text NOT NULL,
  idempotency_key text NOT NULL,
  voided_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, idempotency_key)
);
`;
