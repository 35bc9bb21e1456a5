/**
 * Manual provider returns: an operator imports `returned` for a payout paid offline whose money came back
 * (bank return, closed account). Only a paid row may become returned.
 */
export const name = '0073-manual-returns';

export const up = `
ALTER TABLE manual_payouts DROP CONSTRAINT manual_payouts_state_check;
ALTER TABLE manual_payouts ADD CONSTRAINT manual_payouts_state_check
  CHECK (state IN ('queued', 'exported', 'paid', 'failed', 'cancelled', 'returned'));
`;
