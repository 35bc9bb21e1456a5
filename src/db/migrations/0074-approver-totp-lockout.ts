/**
 * Approver TOTP attempt limits: consecutive wrong codes are counted per approver, and after too many the
 * approver is locked until `locked_until` (growing with `lock_count`). Kept in PostgreSQL so every API
 * process sees the same count and lock.
 */
export const name = '0074-approver-totp-lockout';

export const up = `
ALTER TABLE approver_totp
  ADD COLUMN failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
  ADD COLUMN lock_count integer NOT NULL DEFAULT 0 CHECK (lock_count >= 0),
  ADD COLUMN locked_until timestamptz;
`;
