/**
 * Double-entry ledger. Invariants the database itself enforces (so no code path, raw SQL included,
 * can break them):
 * - every transaction balances per currency and has >= 2 entries (deferred constraint trigger, at commit);
 * - entries can only be added to a transaction created in the same database transaction, and entries
 *   and transactions are append-only (no UPDATE/DELETE);
 * - account balances are maintained by a statement trigger from the inserted entries (so balance = sum
 *   of entries whatever inserts them, COPY included), and payee available/held/restricted balances are
 *   never negative (CHECK).
 */
export const name = '0001-ledger';

export const up = `
CREATE TABLE ledger_accounts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN (
    'payee_available', 'payee_held', 'payee_restricted', 'payee_receivable',
    'platform_funding', 'provider_clearing', 'fees_revenue', 'tax_withholding', 'spendback_revenue', 'fx')),
  owner text NOT NULL CHECK (length(owner) BETWEEN 1 AND 200),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  balance bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ledger_accounts_kind_owner_currency_key UNIQUE (kind, owner, currency),
  CONSTRAINT ledger_accounts_payee_not_platform CHECK (kind NOT LIKE 'payee\\_%' OR owner <> 'platform'),
  CONSTRAINT ledger_accounts_payee_balance_not_negative
    CHECK (kind NOT IN ('payee_available', 'payee_held', 'payee_restricted') OR balance >= 0)
);
CREATE INDEX ledger_accounts_owner_idx ON ledger_accounts (owner);

CREATE TABLE ledger_transactions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_.]{0,63}$'),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 300),
  content_hash text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- The hold a settle/release resolves: UNIQUE, so a hold is resolved at most once.
  resolves_hold_id bigint UNIQUE REFERENCES ledger_transactions (id),
  -- The transaction a reversal mirrors: UNIQUE, so a transaction is reversed at most once.
  reverses_id bigint UNIQUE REFERENCES ledger_transactions (id),
  created_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ledger_transactions_idempotency_key_key UNIQUE (idempotency_key)
);

CREATE TABLE ledger_entries (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  transaction_id bigint NOT NULL REFERENCES ledger_transactions (id),
  account_id bigint NOT NULL REFERENCES ledger_accounts (id),
  -- Signed minor units: positive raises the account's balance, negative lowers it.
  amount bigint NOT NULL CHECK (amount <> 0)
);
CREATE INDEX ledger_entries_transaction_idx ON ledger_entries (transaction_id);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id);

-- Balance per currency, checked at commit (deferred), so the entries of one transaction may be inserted
-- by several statements. The trigger fires once per transaction row, but the first firing at commit
-- checks ALL of this database transaction's ledger transactions in one set-based query and remembers
-- what it covered (id range start + highest command id, in a transaction-local setting); later firings
-- for rows it covered return at once. Rows inserted after a check (SET CONSTRAINTS … IMMEDIATE, then
-- more inserts) have a higher command id and trigger a new check.
-- The set-based check of this database transaction's ledger transactions with id >= from_id. The rows
-- it reads are always few and reachable by index, but a growing ledger's statistics are always stale
-- (a fresh range looks like 20% of the table), so the plan is pinned to index scans and nested loops.
CREATE FUNCTION ledger_check_transactions_from(from_id bigint) RETURNS bigint
LANGUAGE plpgsql SET search_path FROM CURRENT
  SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off
AS $fn$
DECLARE
  bad record;
  max_cid bigint;
BEGIN
  SELECT m.id, m.idempotency_key, s.currency, s.total INTO bad
    FROM ledger_transactions m,
    LATERAL (
      SELECT a.currency, sum(e.amount) AS total
        FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
       WHERE e.transaction_id = m.id
       GROUP BY a.currency HAVING sum(e.amount) <> 0
       LIMIT 1
    ) s
   WHERE m.id >= from_id AND m.created_xid = pg_current_xact_id()
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % (%) does not balance: % entries sum to % minor units',
      bad.id, bad.idempotency_key, bad.currency, bad.total
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
  END IF;
  SELECT m.id, m.idempotency_key, c.n INTO bad
    FROM ledger_transactions m,
    LATERAL (SELECT count(*) AS n FROM ledger_entries e WHERE e.transaction_id = m.id) c
   WHERE m.id >= from_id AND m.created_xid = pg_current_xact_id() AND c.n < 2
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % (%) has % entries; at least 2 are required', bad.id, bad.idempotency_key, bad.n
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transaction_balanced';
  END IF;
  SELECT max(cmin::text::bigint) INTO max_cid
    FROM ledger_transactions WHERE id >= from_id AND created_xid = pg_current_xact_id();
  RETURN max_cid;
END
$fn$;

CREATE FUNCTION ledger_check_transactions_balanced() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
  flag constant text := 'ledger_checked.' || TG_TABLE_SCHEMA;
  covered text[] := string_to_array(nullif(current_setting(flag, true), ''), ':');
  my_cid bigint;
BEGIN
  SELECT cmin::text::bigint INTO my_cid FROM ledger_transactions WHERE id = NEW.id;
  IF covered IS NOT NULL AND NEW.id >= covered[1]::bigint AND my_cid <= covered[2]::bigint THEN
    RETURN NULL;
  END IF;
  PERFORM set_config(flag, NEW.id::text || ':' || ledger_check_transactions_from(NEW.id)::text, true);
  RETURN NULL;
END
$fn$;

CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
  AFTER INSERT ON ledger_transactions
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION ledger_check_transactions_balanced();

-- After each INSERT statement on entries: refuse entries for transactions committed earlier (their
-- balance check has run), then apply the entries to the account balances (one UPDATE per statement).
CREATE FUNCTION ledger_apply_entries() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT
  SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
AS $fn$
DECLARE
  late bigint;
BEGIN
  SELECT n.transaction_id INTO late
    FROM (SELECT DISTINCT transaction_id FROM new_entries) n,
    LATERAL (SELECT t.created_xid FROM ledger_transactions t WHERE t.id = n.transaction_id LIMIT 1) t
   WHERE t.created_xid <> pg_current_xact_id()
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'ledger transaction % is already committed; entries cannot be added to it', late
      USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_append_only';
  END IF;
  UPDATE ledger_accounts a
     SET balance = a.balance + d.delta
    FROM (SELECT account_id, sum(amount) AS delta FROM new_entries GROUP BY account_id) d
   WHERE a.id = d.account_id;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER ledger_entries_apply
  AFTER INSERT ON ledger_entries
  REFERENCING NEW TABLE AS new_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_apply_entries();

CREATE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused (post a reversal instead)', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_append_only';
END
$fn$;

CREATE TRIGGER ledger_entries_append_only
  BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transactions_append_only
  BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
`;
