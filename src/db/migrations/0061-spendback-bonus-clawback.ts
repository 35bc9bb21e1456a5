/**
 * A refunded purchase takes back the spendback bonus it earned, in proportion (from what is left of the
 * bonus grant): how much was taken back per order and per refund.
 */
export const name = '0061-spendback-bonus-clawback';

export const up = `
ALTER TABLE spendback_orders ADD COLUMN bonus_clawed bigint NOT NULL DEFAULT 0 CHECK (bonus_clawed >= 0);
ALTER TABLE spendback_refunds ADD COLUMN bonus_clawed bigint NOT NULL DEFAULT 0 CHECK (bonus_clawed >= 0);
`;
