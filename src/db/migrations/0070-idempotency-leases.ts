/**
 * Idempotency keys claimed with a lease (routes whose effect is a workflow start, see src/api/idempotency.ts):
 * while `lease_until` is set the request is in flight and has no response yet.
 */
export const name = '0070-idempotency-leases';

export const up = `
ALTER TABLE idempotency_keys ADD COLUMN lease_until timestamptz;
ALTER TABLE idempotency_keys ALTER COLUMN response_status DROP NOT NULL;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_pending_or_answered
  CHECK ((lease_until IS NULL) = (response_status IS NOT NULL));
`;
