/**
 * The payout's lifecycle column takes the glossary's word (#17): `payouts.status` becomes `state`, as in the
 * API (`?state=`, `body.state`), and `status_doc` becomes `state_doc`. A rename keeps data, constraints and
 * index definitions (they refer to the column, not its name); the index is renamed to match.
 */
export const name = '0086-payout-state';

export const up = `
ALTER TABLE payouts RENAME COLUMN status TO state;
ALTER TABLE payouts RENAME COLUMN status_doc TO state_doc;
ALTER INDEX payouts_status_idx RENAME TO payouts_state_idx;
`;
