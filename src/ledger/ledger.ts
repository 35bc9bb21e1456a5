import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../db/identifiers.ts';
import { sql, sqlState } from '../db/sql.ts';
import { currencyOf, type Money, money } from '../money/index.ts';
import {
  type AccountKind,
  type AccountRef,
  accountKey,
  isAccountKind,
  isPayeeKind,
  NON_NEGATIVE_KINDS,
  PLATFORM,
} from './accounts.ts';
import {
  AlreadyReversed,
  HoldAlreadyResolved,
  IdempotencyConflict,
  InsufficientFunds,
  InvalidCursor,
  InvalidPosting,
  TransactionNotFound,
} from './errors.ts';
import { convertMinor, type FxRate, parseRate } from './fx.ts';
import {
  asPosting,
  type NormalizedEntry,
  type NormalizedPosting,
  normalizePosting,
  type PostingInput,
  positiveAmount,
  validateKey,
  validateMetadata,
  validateOwner,
} from './posting.ts';

export interface PostedEntry {
  readonly account: AccountRef;
  /** Signed: positive raised the account's balance. */
  readonly amount: Money;
}

export interface PostedTransaction {
  readonly id: string;
  readonly type: string;
  readonly idempotencyKey: string;
  readonly metadata: Record<string, unknown>;
  readonly entries: readonly PostedEntry[];
  readonly createdAt: string;
  /** True when this call found the transaction already posted under the same key (nothing new written). */
  readonly replayed: boolean;
}

/** Platform-side legs a hold can settle into (all in the hold's currency; they must add up to the hold). */
export type SettleLegKind =
  | 'provider_clearing'
  | 'fees_revenue'
  | 'tax_withholding'
  | 'platform_funding'
  | 'spendback_revenue';
export type SettleLegs = Partial<Record<SettleLegKind, Money>>;

export interface PayeeBalance {
  readonly currency: string;
  readonly available: Money;
  readonly held: Money;
  readonly restricted: Money;
  readonly receivable: Money;
}

export interface HistoryEntry {
  readonly entryId: string;
  readonly transactionId: string;
  readonly type: string;
  readonly idempotencyKey: string;
  readonly amount: Money;
  readonly metadata: Record<string, unknown>;
  readonly createdAt: string;
}

export interface AccountHistory {
  readonly account: AccountRef & { readonly balance: Money };
  /** Newest first. */
  readonly entries: readonly HistoryEntry[];
  /** Pass back to get the next (older) page; null at the end. */
  readonly nextCursor: string | null;
}

export interface BatchResult {
  readonly idempotencyKey: string;
  readonly id: string;
  readonly replayed: boolean;
}

/** What the Ledger needs: EntityManagers for one schema (a `Database` from src/db/open.ts fits). */
export interface LedgerStore {
  em(): EntityManager;
  readonly schema: string;
}

const SETTLE_LEG_KINDS: readonly SettleLegKind[] = [
  'provider_clearing',
  'fees_revenue',
  'tax_withholding',
  'platform_funding',
  'spendback_revenue',
];

/** Accounts created in a caller's transaction, per its EntityManager: not cached until known committed. */
const createdInTransaction = new WeakMap<EntityManager, Set<string>>();
function createdIn(em: EntityManager): Set<string> {
  const keys = createdInTransaction.get(em) ?? new Set<string>();
  createdInTransaction.set(em, keys);
  return keys;
}

/** Thrown inside a database transaction to roll it back when the key turns out to be taken. */
class KeyTaken extends Error {}

interface TxRow {
  id: string;
  type: string;
  idempotency_key: string;
  content_hash: string;
  metadata: Record<string, unknown>;
  resolves_hold_id: string | null;
  reverses_id: string | null;
  created_at: Date | string;
}

/**
 * The double-entry ledger. Every operation is one database transaction: accounts are created on first
 * use, the accounts touched are row-locked in id order (concurrent postings serialise, no lock-order
 * deadlocks), payee balances are checked, then the transaction and its entries are inserted; the
 * database applies them to the balances and checks balance-per-currency at commit.
 *
 * Idempotency: the same idempotency key with the same content returns the stored transaction
 * (`replayed: true`); with different content it throws IdempotencyConflict.
 */
export class Ledger {
  readonly #store: LedgerStore;
  readonly #bound: EntityManager | undefined;
  readonly #t: { accounts: string; transactions: string; entries: string };
  /** Ids of committed accounts (accounts are never deleted); shared with the Ledgers `within()` returns. */
  readonly #accountIds: Map<string, string>;

  constructor(store: LedgerStore, boundEm?: EntityManager, accountIds?: Map<string, string>) {
    this.#store = store;
    this.#bound = boundEm;
    this.#accountIds = accountIds ?? new Map();
    this.#t = {
      accounts: qualify(store.schema, 'ledger_accounts'),
      transactions: qualify(store.schema, 'ledger_transactions'),
      entries: qualify(store.schema, 'ledger_entries'),
    };
  }

  /** A Ledger whose postings join `em`'s current transaction (commit/rollback together with your writes). */
  within(em: EntityManager): Ledger {
    return new Ledger(this.#store, em, this.#accountIds);
  }

  // ---------------------------------------------------------------- generic posting

  async post(input: PostingInput): Promise<PostedTransaction> {
    return this.#postNormalized(normalizePosting(input));
  }

  /**
   * Posts many generic transactions in one database transaction with set-based inserts (a period
   * close). All or nothing: a conflict or a payee balance going negative rolls back the whole batch.
   */
  async postBatch(inputs: readonly PostingInput[]): Promise<BatchResult[]> {
    const postings = inputs.map((input, i) => {
      try {
        return normalizePosting(input);
      } catch (error) {
        if (error instanceof InvalidPosting) throw new InvalidPosting(`[${i}].${error.field}`, error.message);
        throw error;
      }
    });
    const unique = new Map<string, NormalizedPosting>();
    for (const p of postings) {
      const seen = unique.get(p.idempotencyKey);
      if (seen && seen.contentHash !== p.contentHash)
        throw new IdempotencyConflict(p.idempotencyKey, '(same batch)');
      unique.set(p.idempotencyKey, p);
    }
    const batch = [...unique.values()];
    const ids = await this.#ensureAccounts(batch.flatMap((p) => p.entries));
    const results = await this.#transaction(async (em) => {
      // Payee rows first (every posting's, replays included: one lock order with single postings), then keys.
      const all = batch.flatMap((p) => p.entries);
      const payees = await this.#lockPayees(
        em,
        all,
        all.map((e) => ids.get(accountKey(e))!),
      );
      const inserted = await sql<{ id: string; idempotency_key: string }>(
        em,
        `INSERT INTO ${this.#t.transactions} (type, idempotency_key, content_hash, metadata)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING id, idempotency_key`,
        [
          batch.map((p) => p.type),
          batch.map((p) => p.idempotencyKey),
          batch.map((p) => p.contentHash),
          batch.map((p) => JSON.stringify(p.metadata)),
        ],
      );
      const newIds = new Map(inserted.map((r) => [r.idempotency_key, r.id]));
      const out: BatchResult[] = [];
      const txIds: string[] = [];
      const accountIds: string[] = [];
      const entries: NormalizedEntry[] = [];
      const replays: NormalizedPosting[] = [];
      for (const p of batch) {
        const id = newIds.get(p.idempotencyKey);
        if (id === undefined) {
          replays.push(p);
          continue;
        }
        out.push({ idempotencyKey: p.idempotencyKey, id, replayed: false });
        for (const e of p.entries) {
          txIds.push(id);
          accountIds.push(ids.get(accountKey(e))!);
          entries.push(e);
        }
      }
      if (replays.length > 0) {
        const existing = await sql<{ id: string; idempotency_key: string; content_hash: string }>(
          em,
          `SELECT id, idempotency_key, content_hash FROM ${this.#t.transactions} WHERE idempotency_key = ANY($1::text[])`,
          [replays.map((p) => p.idempotencyKey)],
        );
        const byKey = new Map(existing.map((r) => [r.idempotency_key, r]));
        for (const p of replays) {
          const row = byKey.get(p.idempotencyKey)!;
          if (row.content_hash !== p.contentHash) throw new IdempotencyConflict(p.idempotencyKey, row.id);
          out.push({ idempotencyKey: p.idempotencyKey, id: row.id, replayed: true });
        }
      }
      if (txIds.length > 0) {
        const deltas = payeeDeltas(entries, accountIds);
        checkFunds(payees.map((a) => ({ ...a, delta: deltas.get(a.id) ?? 0n })));
        await this.#insertEntries(em, entries, accountIds, txIds);
      }
      return out;
    });
    const byKey = new Map(results.map((r) => [r.idempotencyKey, r]));
    return postings.map((p) => byKey.get(p.idempotencyKey)!);
  }

  // ---------------------------------------------------------------- domain operations

  /** Earnings become spendable: platform_funding → payee_available. */
  async creditEarnings(input: {
    payeeId: string;
    amount: Money;
    idempotencyKey: string;
    metadata?: Record<string, unknown>;
    type?: string;
  }): Promise<PostedTransaction> {
    const payeeId = validateOwner(input.payeeId, 'payee_available', 'payeeId');
    const amount = positiveAmount(input.amount, 'amount');
    return this.post({
      type: input.type ?? 'earnings.credit',
      idempotencyKey: input.idempotencyKey,
      metadata: { payeeId, ...input.metadata },
      entries: [
        { account: { kind: 'platform_funding', owner: PLATFORM }, amount: negate(amount) },
        { account: { kind: 'payee_available', owner: payeeId }, amount },
      ],
    });
  }

  /** Holds funds for an in-flight payout: payee_available → payee_held. InsufficientFunds if short. */
  async hold(input: {
    payeeId: string;
    amount: Money;
    idempotencyKey: string;
    metadata?: Record<string, unknown>;
  }): Promise<PostedTransaction> {
    const payeeId = validateOwner(input.payeeId, 'payee_available', 'payeeId');
    const amount = positiveAmount(input.amount, 'amount');
    return this.post({
      type: 'hold',
      idempotencyKey: input.idempotencyKey,
      metadata: { payeeId, ...input.metadata },
      entries: [
        { account: { kind: 'payee_available', owner: payeeId }, amount: negate(amount) },
        { account: { kind: 'payee_held', owner: payeeId }, amount },
      ],
    });
  }

  /**
   * Pays a hold out: payee_held → the given platform legs (e.g. provider_clearing for what the provider
   * sends, fees_revenue for the instant fee, tax_withholding), which must add up to the held amount.
   */
  async settleHold(input: {
    holdKey: string;
    idempotencyKey: string;
    legs: SettleLegs;
    metadata?: Record<string, unknown>;
  }): Promise<PostedTransaction> {
    const hold = await this.#loadHold(input.holdKey);
    const legs = input.legs;
    if (typeof legs !== 'object' || legs === null)
      throw new InvalidPosting('legs', 'must be an object of amounts');
    for (const k of Object.keys(legs)) {
      if (!(SETTLE_LEG_KINDS as readonly string[]).includes(k)) {
        throw new InvalidPosting(`legs.${k}`, `not a settle leg; use ${SETTLE_LEG_KINDS.join(', ')}`);
      }
    }
    const entries: NormalizedEntry[] = [];
    let total = 0n;
    for (const kind of SETTLE_LEG_KINDS) {
      const leg = legs[kind];
      if (leg === undefined) continue;
      const value = asPosting(() => positiveAmount(leg, `legs.${kind}`, hold.currency));
      total += BigInt(value.amount);
      entries.push({ kind, owner: PLATFORM, currency: hold.currency, amount: BigInt(value.amount) });
    }
    if (total !== hold.amount) {
      throw new InvalidPosting(
        'legs',
        `legs add up to ${total} ${hold.currency} minor units; the hold is ${hold.amount}`,
      );
    }
    entries.unshift({
      kind: 'payee_held',
      owner: hold.payeeId,
      currency: hold.currency,
      amount: -hold.amount,
    });
    return this.#resolveHold(hold, 'hold.settle', input.idempotencyKey, entries, input.metadata);
  }

  /** Gives a hold back: payee_held → payee_available (payout failed or was cancelled). */
  async releaseHold(input: {
    holdKey: string;
    idempotencyKey: string;
    metadata?: Record<string, unknown>;
  }): Promise<PostedTransaction> {
    const hold = await this.#loadHold(input.holdKey);
    const entries: NormalizedEntry[] = [
      { kind: 'payee_held', owner: hold.payeeId, currency: hold.currency, amount: -hold.amount },
      { kind: 'payee_available', owner: hold.payeeId, currency: hold.currency, amount: hold.amount },
    ];
    return this.#resolveHold(hold, 'hold.release', input.idempotencyKey, entries, input.metadata);
  }

  /**
   * Posts the mirror image of a transaction (e.g. a payout returned after being paid). Legs that took
   * money out of payee_held go back to payee_available, since the hold is over. Holds cannot be
   * reversed (release them); a transaction is reversed at most once.
   */
  async reverse(input: {
    transactionKey: string;
    idempotencyKey: string;
    reason: string;
    metadata?: Record<string, unknown>;
  }): Promise<PostedTransaction> {
    validateKey(input.transactionKey, 'transactionKey');
    if (typeof input.reason !== 'string' || input.reason.trim() === '') {
      throw new InvalidPosting('reason', 'say why the transaction is reversed');
    }
    const original = await this.getTransaction(input.transactionKey);
    if (!original) throw new TransactionNotFound(input.transactionKey);
    if (original.type === 'hold') {
      throw new InvalidPosting('transactionKey', 'a hold is not reversed; release it with releaseHold');
    }
    const row = (await this.#txByKeys(this.#em(), [input.transactionKey]))[0]!;
    if (row.reverses_id !== null) {
      throw new InvalidPosting('transactionKey', 'a reversal cannot be reversed; post the original again');
    }
    const entries: NormalizedEntry[] = original.entries.map((e) => ({
      kind: e.account.kind === 'payee_held' ? 'payee_available' : e.account.kind,
      owner: e.account.owner,
      currency: e.account.currency,
      amount: -BigInt(e.amount.amount),
    }));
    const posting = this.#normalizedFrom(
      'reversal',
      input.idempotencyKey,
      { reason: input.reason, reverses: input.transactionKey, ...input.metadata },
      entries,
      { reversesId: original.id },
    );
    try {
      return await this.#postNormalized(posting);
    } catch (error) {
      if (sqlState(error) === '23505' && String(error).includes('reverses_id')) {
        const by = await sql<{ idempotency_key: string }>(
          this.#em(),
          `SELECT idempotency_key FROM ${this.#t.transactions} WHERE reverses_id = $1`,
          [original.id],
        );
        throw new AlreadyReversed(input.transactionKey, by[0]?.idempotency_key ?? '?');
      }
      throw error;
    }
  }

  /**
   * Converts between currencies through the platform's `fx` accounts:
   * owner's `from` account −from; fx[from.currency] +from; fx[to] −converted; owner's `to` account
   * +(converted − fee); fees_revenue +fee (FX margin as an explicit leg). The rate is exact (decimal
   * string or integer numerator/denominator: 1 major unit of `from` = rate major units of `toCurrency`),
   * the converted amount is rounded down to a whole minor unit, and the rate is recorded in metadata.
   */
  async convertFx(input: {
    owner: string;
    accountKind?: AccountKind;
    from: Money;
    toCurrency: string;
    rate: FxRate;
    fee?: Money;
    idempotencyKey: string;
    metadata?: Record<string, unknown>;
  }): Promise<PostedTransaction & { converted: Money; credited: Money }> {
    const kind = input.accountKind ?? 'payee_available';
    if (!isAccountKind(kind))
      throw new InvalidPosting('accountKind', `unknown account kind ${JSON.stringify(kind)}`);
    const owner = validateOwner(input.owner, kind, 'owner');
    const from = positiveAmount(input.from, 'from');
    const to = asPosting(() => currencyOf(input.toCurrency, 'toCurrency'));
    if (to.code === from.currency)
      throw new InvalidPosting('toCurrency', 'must differ from the from currency');
    const rate = parseRate(input.rate);
    const converted = convertMinor(
      BigInt(from.amount),
      currencyOf(from.currency).exponent,
      to.exponent,
      rate,
    );
    const fee = input.fee === undefined ? 0n : BigInt(positiveAmount(input.fee, 'fee', to.code).amount);
    if (converted - fee <= 0n) {
      throw new InvalidPosting(
        'from',
        `converts to ${converted} ${to.code} minor units, not enough to cover the fee`,
      );
    }
    const entries: NormalizedEntry[] = [
      { kind, owner, currency: from.currency, amount: -BigInt(from.amount) },
      { kind: 'fx', owner: PLATFORM, currency: from.currency, amount: BigInt(from.amount) },
      { kind: 'fx', owner: PLATFORM, currency: to.code, amount: -converted },
      { kind, owner, currency: to.code, amount: converted - fee },
    ];
    if (fee > 0n) entries.push({ kind: 'fees_revenue', owner: PLATFORM, currency: to.code, amount: fee });
    const posted = await this.#postNormalized(
      this.#normalizedFrom(
        'fx.convert',
        input.idempotencyKey,
        {
          rate: {
            numerator: rate.numerator.toString(),
            denominator: rate.denominator.toString(),
            decimal: rate.decimal,
          },
          from,
          converted: money(converted, to.code),
          ...input.metadata,
        },
        entries,
      ),
    );
    return { ...posted, converted: money(converted, to.code), credited: money(converted - fee, to.code) };
  }

  // ---------------------------------------------------------------- queries

  async getTransaction(idempotencyKey: string): Promise<PostedTransaction | null> {
    validateKey(idempotencyKey);
    const em = this.#em();
    const rows = await this.#txByKeys(em, [idempotencyKey]);
    return rows[0] ? this.#hydrate(em, rows[0], false) : null;
  }

  /** Every payee account balance of one payee, per currency. */
  async balances(payeeId: string): Promise<PayeeBalance[]> {
    validateOwner(payeeId, 'payee_available', 'payeeId');
    const rows = await sql<{ kind: string; currency: string; balance: string }>(
      this.#em(),
      `SELECT kind, currency, balance FROM ${this.#t.accounts} WHERE owner = $1 AND kind LIKE 'payee\\_%'
       ORDER BY currency`,
      [payeeId],
    );
    const byCurrency = new Map<string, Record<string, bigint>>();
    for (const r of rows) {
      const b = byCurrency.get(r.currency) ?? {};
      b[r.kind] = BigInt(r.balance);
      byCurrency.set(r.currency, b);
    }
    return [...byCurrency].map(([currency, b]) => ({
      currency,
      available: money(b.payee_available ?? 0n, currency),
      held: money(b.payee_held ?? 0n, currency),
      restricted: money(b.payee_restricted ?? 0n, currency),
      receivable: money(b.payee_receivable ?? 0n, currency),
    }));
  }

  /** Balance of one account (zero if it was never used). */
  async balance(account: { kind: AccountKind; owner?: string; currency: string }): Promise<Money> {
    const ref = this.#ref(account);
    const rows = await sql<{ balance: string }>(
      this.#em(),
      `SELECT balance FROM ${this.#t.accounts} WHERE kind = $1 AND owner = $2 AND currency = $3`,
      [ref.kind, ref.owner, ref.currency],
    );
    return money(rows[0]?.balance ?? 0n, ref.currency);
  }

  /** Entries of one account, newest first, with opaque cursor pagination. */
  async accountHistory(
    account: { kind: AccountKind; owner?: string; currency: string },
    page: { cursor?: string | null; limit?: number } = {},
  ): Promise<AccountHistory> {
    const ref = this.#ref(account);
    const limit = page.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      throw new InvalidPosting('limit', 'must be 1-500');
    const before = page.cursor ? decodeCursor(page.cursor) : null;
    const em = this.#em();
    const acct = await sql<{ id: string; balance: string }>(
      em,
      `SELECT id, balance FROM ${this.#t.accounts} WHERE kind = $1 AND owner = $2 AND currency = $3`,
      [ref.kind, ref.owner, ref.currency],
    );
    if (!acct[0])
      return { account: { ...ref, balance: money(0n, ref.currency) }, entries: [], nextCursor: null };
    const rows = await sql<{
      id: string;
      transaction_id: string;
      amount: string;
      type: string;
      idempotency_key: string;
      metadata: Record<string, unknown>;
      created_at: Date | string;
    }>(
      em,
      `SELECT e.id, e.transaction_id, e.amount, t.type, t.idempotency_key, t.metadata, t.created_at
         FROM ${this.#t.entries} e JOIN ${this.#t.transactions} t ON t.id = e.transaction_id
        WHERE e.account_id = $1 AND ($2::bigint IS NULL OR e.id < $2::bigint)
        ORDER BY e.id DESC LIMIT $3`,
      [acct[0].id, before, limit + 1],
    );
    const pageRows = rows.slice(0, limit);
    const last = pageRows.at(-1);
    return {
      account: { ...ref, balance: money(acct[0].balance, ref.currency) },
      entries: pageRows.map((r) => ({
        entryId: r.id,
        transactionId: r.transaction_id,
        type: r.type,
        idempotencyKey: r.idempotency_key,
        amount: money(r.amount, ref.currency),
        metadata: r.metadata,
        createdAt: new Date(r.created_at).toISOString(),
      })),
      nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
    };
  }

  // ---------------------------------------------------------------- internals

  #em(): EntityManager {
    return this.#bound ?? this.#store.em();
  }

  #ref(account: { kind: AccountKind; owner?: string; currency: string }): AccountRef {
    if (!isAccountKind(account?.kind))
      throw new InvalidPosting('account.kind', `unknown account kind ${JSON.stringify(account?.kind)}`);
    const owner = validateOwner(account.owner, account.kind, 'account.owner');
    const currency = asPosting(() => currencyOf(account.currency, 'account.currency')).code;
    return { kind: account.kind, owner, currency };
  }

  #normalizedFrom(
    type: string,
    idempotencyKey: string,
    metadata: Record<string, unknown>,
    entries: readonly NormalizedEntry[],
    links: { resolvesHoldId?: string; reversesId?: string } = {},
  ): NormalizedPosting {
    return normalizePosting(
      {
        type,
        idempotencyKey,
        metadata: validateMetadata(metadata),
        entries: entries.map((e) => ({
          account: { kind: e.kind, owner: e.owner },
          amount: money(e.amount, e.currency),
        })),
      },
      links,
    );
  }

  /** The hold under `holdKey`, from its payee_held entry and that account's id (one statement). */
  async #loadHold(holdKey: string) {
    validateKey(holdKey, 'holdKey');
    type Row = {
      id: string;
      type: string;
      account_id: string;
      owner: string;
      currency: string;
      amount: string;
    };
    const [held] = await sql<Row>(
      this.#em(),
      `SELECT t.id, t.type, a.id AS account_id, a.owner, a.currency, e.amount::text AS amount
         FROM ${this.#t.transactions} t
         JOIN ${this.#t.entries} e ON e.transaction_id = t.id
         JOIN ${this.#t.accounts} a ON a.id = e.account_id AND a.kind = 'payee_held'
        WHERE t.idempotency_key = $1`,
      [holdKey],
      { prepare: true },
    );
    if (held?.type !== 'hold') throw new TransactionNotFound(holdKey, 'hold');
    return {
      id: held.id,
      key: holdKey,
      payeeId: held.owner,
      currency: held.currency,
      amount: BigInt(held.amount),
      heldAccountId: held.account_id,
    };
  }

  async #resolveHold(
    hold: { id: string; key: string; payeeId: string; currency: string; heldAccountId: string },
    type: 'hold.settle' | 'hold.release',
    idempotencyKey: string,
    entries: NormalizedEntry[],
    metadata: Record<string, unknown> | undefined,
  ): Promise<PostedTransaction> {
    const posting = this.#normalizedFrom(type, idempotencyKey, { hold: hold.key, ...metadata }, entries, {
      resolvesHoldId: hold.id,
    });
    const resolved = async () => {
      const by = await sql<{ type: string; idempotency_key: string }>(
        this.#em(),
        `SELECT type, idempotency_key FROM ${this.#t.transactions} WHERE resolves_hold_id = $1`,
        [hold.id],
      );
      return by[0];
    };
    // Replays of this very resolution are answered by #postNormalized; another resolution breaks the
    // unique resolves_hold_id, and is told apart from a replay only then (no read before every resolution).
    // The hold's payee_held account was read with it (same snapshot): no look-up statement for it.
    const held = accountKey({ kind: 'payee_held', owner: hold.payeeId, currency: hold.currency });
    try {
      return await this.#postNormalized(posting, new Map([[held, hold.heldAccountId]]));
    } catch (error) {
      if (sqlState(error) === '23505' && String(error).includes('resolves_hold_id')) {
        const by = await resolved();
        throw new HoldAlreadyResolved(
          hold.key,
          by?.type === 'hold.settle' ? 'settled' : 'released',
          by?.idempotency_key ?? '?',
        );
      }
      throw error;
    }
  }

  async #postNormalized(
    p: NormalizedPosting,
    known?: ReadonlyMap<string, string>,
  ): Promise<PostedTransaction> {
    const ids = await this.#ensureAccounts(p.entries, known);
    const accountIds = p.entries.map((e) => ids.get(accountKey(e))!);
    const once = await this.#postInOneStatement(p, accountIds);
    if (once !== 'short') {
      if (once !== 'taken') return once;
      const again = await this.#replay(p);
      if (again) return again;
    }
    // A payee account would go short (or a replay raced the key): the statement-per-step path below tells a
    // replay from a shortfall under its locks and reports the shortfall exactly. Rare, so its cost is fine.
    try {
      return await this.#transaction(async (em) => {
        const payees = await this.#lockPayees(em, p.entries, accountIds);
        // The key before the check: a replay then answers without checking anything (a hold replayed
        // after its funds moved on is still the same hold), and a concurrent same-key posting waits here.
        const row = (await sql<TxRow>(em, this.#insertTxSql(''), this.#txParams(p)))[0];
        if (!row) throw new KeyTaken();
        checkFunds(payees);
        await this.#insertEntries(em, p.entries, accountIds, [row.id]);
        return this.#posted(row, p);
      });
    } catch (error) {
      if (error instanceof KeyTaken) {
        const again = await this.#replay(p);
        if (again) return again;
      }
      throw error;
    }
  }

  /**
   * The common case in one statement (no BEGIN/COMMIT of its own): lock the payee accounts in id order, check
   * that none goes short, claim the key, lock the platform accounts in id order, insert the entries. Each step
   * reads the one before it, which is what orders them (data-modifying WITH queries run in no set order
   * otherwise). 'short' when a payee account would go negative (nothing written), 'taken' when the key is.
   */
  async #postInOneStatement(
    p: NormalizedPosting,
    accountIds: string[],
  ): Promise<PostedTransaction | 'short' | 'taken'> {
    const deltas = payeeDeltas(p.entries, accountIds);
    const hot = [...new Set(accountIds.filter((_, i) => !isPayeeKind(p.entries[i]!.kind)))];
    const t = this.#t;
    const text = `WITH locked AS MATERIALIZED (
         SELECT id, kind, balance FROM ${t.accounts} WHERE id = ANY($7::bigint[]) ORDER BY id FOR UPDATE),
       short AS MATERIALIZED (
         SELECT count(*) AS n FROM locked l JOIN unnest($7::bigint[], $8::bigint[]) AS d(id, delta) ON d.id = l.id
          WHERE d.delta < 0 AND l.kind = ANY($12::text[]) AND l.balance + d.delta < 0),
       tx AS (${this.#insertTxSql('WHERE (SELECT n FROM short) = 0')}),
       hot AS MATERIALIZED (
         SELECT id FROM ${t.accounts} WHERE id = ANY($9::bigint[]) AND EXISTS (SELECT 1 FROM tx) ORDER BY id FOR UPDATE),
       entries AS (
         INSERT INTO ${t.entries} (transaction_id, account_id, amount)
         SELECT tx.id, u.account_id, u.amount FROM tx, unnest($10::bigint[], $11::bigint[]) AS u(account_id, amount)
          WHERE (SELECT count(*) FROM hot) >= 0)
       SELECT tx.id, tx.type, tx.idempotency_key, tx.content_hash, tx.metadata, tx.resolves_hold_id, tx.reverses_id,
              tx.created_at, (SELECT n FROM short) > 0 AS short
         FROM (SELECT 1) AS one LEFT JOIN tx ON true`;
    const params = [
      ...this.#txParams(p),
      [...deltas.keys()],
      [...deltas.values()].map(String),
      hot,
      accountIds,
      p.entries.map((e) => e.amount.toString()),
      [...NON_NEGATIVE_KINDS],
    ];
    const [row] = await this.#retried(() =>
      sql<TxRow & { short: boolean }>(this.#em(), text, params, { prepare: true }),
    );
    if (row!.short) return 'short';
    if (row!.id === null) return 'taken';
    return this.#posted(row!, p);
  }

  #insertTxSql(where: string): string {
    return `INSERT INTO ${this.#t.transactions}
             (type, idempotency_key, content_hash, metadata, resolves_hold_id, reverses_id)
           SELECT $1::text, $2::text, $3::text, $4::jsonb, $5::bigint, $6::bigint ${where}
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING id, type, idempotency_key, content_hash, metadata, resolves_hold_id, reverses_id, created_at`;
  }

  #txParams(p: NormalizedPosting): unknown[] {
    return [
      p.type,
      p.idempotencyKey,
      p.contentHash,
      JSON.stringify(p.metadata),
      p.resolvesHoldId,
      p.reversesId,
    ];
  }

  #posted(row: TxRow, p: NormalizedPosting): PostedTransaction {
    return {
      id: row.id,
      type: row.type,
      idempotencyKey: row.idempotency_key,
      metadata: row.metadata,
      entries: p.entries.map((e) => ({
        account: { kind: e.kind, owner: e.owner, currency: e.currency },
        amount: money(e.amount, e.currency),
      })),
      createdAt: new Date(row.created_at).toISOString(),
      replayed: false,
    };
  }

  /** The stored transaction if the key is taken by the same content; IdempotencyConflict if by other content. */
  async #replay(p: NormalizedPosting): Promise<PostedTransaction | null> {
    const em = this.#em();
    const row = (await this.#txByKeys(em, [p.idempotencyKey]))[0];
    if (!row) return null;
    if (row.content_hash !== p.contentHash) throw new IdempotencyConflict(p.idempotencyKey, row.id);
    return this.#hydrate(em, row, true);
  }

  /**
   * Locks the payee accounts of `entries` in id order, with what each is to move by. Platform accounts are
   * hot (every settlement credits provider_clearing, most fees_revenue) and never checked: they are locked by
   * #insertEntries, the last statement before the commit, so a settlement holds them as briefly as it can.
   * Every posting locks its payee rows, then claims its key, then locks its platform rows, each in id order:
   * one lock order, no deadlocks.
   */
  async #lockPayees(
    em: EntityManager,
    entries: readonly NormalizedEntry[],
    accountIds: string[],
  ): Promise<LockedPayee[]> {
    const deltas = payeeDeltas(entries, accountIds);
    if (deltas.size === 0) return [];
    const locked = await sql<{ id: string; kind: string; owner: string; currency: string; balance: string }>(
      em,
      `SELECT id, kind, owner, currency, balance FROM ${this.#t.accounts}
        WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
      [[...deltas.keys()]],
    );
    return locked.map((a) => ({ ...a, balance: BigInt(a.balance), delta: deltas.get(a.id) ?? 0n }));
  }

  /**
   * Inserts the entries (`transactionIds[i]` for entry i, or one id for all), locking their platform
   * accounts in id order in the same statement; the database applies them to the balances.
   */
  async #insertEntries(
    em: EntityManager,
    entries: readonly NormalizedEntry[],
    accountIds: string[],
    transactionIds: string[],
  ): Promise<void> {
    const hot = [...new Set(accountIds.filter((_, i) => !isPayeeKind(entries[i]!.kind)))];
    const txIds = transactionIds.length === 1 ? accountIds.map(() => transactionIds[0]!) : transactionIds;
    await sql(
      em,
      `WITH hot AS (SELECT id FROM ${this.#t.accounts} WHERE id = ANY($4::bigint[]) ORDER BY id FOR UPDATE)
       INSERT INTO ${this.#t.entries} (transaction_id, account_id, amount)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])
        WHERE (SELECT count(*) FROM hot) >= 0`,
      [txIds, accountIds, entries.map((e) => e.amount.toString()), hot],
    );
  }

  async #txByKeys(em: EntityManager, keys: string[]): Promise<TxRow[]> {
    return sql<TxRow>(
      em,
      `SELECT id, type, idempotency_key, content_hash, metadata, resolves_hold_id, reverses_id, created_at
         FROM ${this.#t.transactions} WHERE idempotency_key = ANY($1::text[])`,
      [keys],
    );
  }

  async #hydrate(em: EntityManager, row: TxRow, replayed: boolean): Promise<PostedTransaction> {
    const entries = await sql<{ kind: AccountKind; owner: string; currency: string; amount: string }>(
      em,
      `SELECT a.kind, a.owner, a.currency, e.amount
         FROM ${this.#t.entries} e JOIN ${this.#t.accounts} a ON a.id = e.account_id
        WHERE e.transaction_id = $1 ORDER BY e.id`,
      [row.id],
    );
    return {
      id: row.id,
      type: row.type,
      idempotencyKey: row.idempotency_key,
      metadata: row.metadata,
      entries: entries.map((e) => ({
        account: { kind: e.kind, owner: e.owner, currency: e.currency },
        amount: money(e.amount, e.currency),
      })),
      createdAt: new Date(row.created_at).toISOString(),
      replayed,
    };
  }

  /**
   * Account ids, creating missing accounts in their own short statement (an empty account is harmless
   * if the posting then fails), so the posting transaction itself only locks existing rows.
   */
  async #ensureAccounts(
    entries: readonly AccountRef[],
    known?: ReadonlyMap<string, string>,
  ): Promise<Map<string, string>> {
    const missing = new Map<string, AccountRef>();
    // `known`: ids the caller read in this posting's own snapshot (not cached: that read may roll back).
    const found = new Map<string, string>(known);
    for (const e of entries) {
      const key = accountKey(e);
      if (!this.#accountIds.has(key) && !found.has(key)) missing.set(key, e);
    }
    if (missing.size > 0) {
      // Sorted so concurrent creators take the unique-index locks in one order.
      const refs = [...missing.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
      const params = [refs.map((r) => r.kind), refs.map((r) => r.owner), refs.map((r) => r.currency)];
      // Bound: inside the caller's transaction (a second connection could wait on it, and on PGlite
      // it always would).
      const em = this.#em();
      // One statement: the ones it creates come back from the insert, the others from its snapshot. One
      // created meanwhile by a transaction that committed after that snapshot is in neither: read again.
      type Row = { id: string; kind: string; owner: string; currency: string; created: boolean };
      const rows = await sql<Row>(
        em,
        `WITH created AS (
           INSERT INTO ${this.#t.accounts} (kind, owner, currency)
           SELECT u.kind, u.owner, u.currency FROM unnest($1::text[], $2::text[], $3::text[]) AS u(kind, owner, currency)
           ON CONFLICT (kind, owner, currency) DO NOTHING
           RETURNING id, kind, owner, currency)
         SELECT id, kind, owner, currency, true AS created FROM created
         UNION ALL
         SELECT a.id, a.kind, a.owner, a.currency, false AS created FROM ${this.#t.accounts} a
           JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(kind, owner, currency)
             ON a.kind = k.kind AND a.owner = k.owner AND a.currency = k.currency`,
        params,
        { prepare: true },
      );
      if (rows.length < refs.length) {
        rows.push(
          ...(await sql<Row>(
            em,
            `SELECT a.id, a.kind, a.owner, a.currency, false AS created FROM ${this.#t.accounts} a
               JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(kind, owner, currency)
                 ON a.kind = k.kind AND a.owner = k.owner AND a.currency = k.currency`,
            params,
          )),
        );
      }
      // Committed accounts are cached; one created in the caller's transaction is not (it may roll back).
      const createdHere = this.#bound ? createdIn(this.#bound) : undefined;
      for (const r of rows) {
        const key = accountKey(r);
        found.set(key, r.id);
        if (r.created && createdHere) createdHere.add(key);
        else if (!createdHere?.has(key)) this.#accountIds.set(key, r.id);
      }
    }
    const out = new Map<string, string>();
    for (const e of entries)
      out.set(accountKey(e), this.#accountIds.get(accountKey(e)) ?? found.get(accountKey(e))!);
    return out;
  }

  /** One database transaction, retried on deadlock/serialization failure (not when bound to a caller's). */
  async #transaction<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    if (this.#bound) return this.#bound.transactional(fn);
    return this.#retried(() => this.#store.em().transactional(fn));
  }

  /** `run` (a transaction of its own, or one statement), retried on deadlock/serialization failure when unbound. */
  async #retried<T>(run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (error) {
        const state = sqlState(error);
        if (state === '23514' && String(error).includes('payee_balance_not_negative')) {
          // The code check runs under the same locks; this only fires if the database disagrees.
          throw new InvalidPosting('entries', 'a payee balance would go negative (database check)');
        }
        if ((state === '40P01' || state === '40001') && attempt < 5 && !this.#bound) continue;
        throw error;
      }
    }
  }
}

interface LockedPayee {
  readonly id: string;
  readonly kind: string;
  readonly owner: string;
  readonly currency: string;
  readonly balance: bigint;
  readonly delta: bigint;
}

/** What each payee account of `entries` moves by, by account id. */
function payeeDeltas(
  entries: readonly NormalizedEntry[],
  accountIds: readonly string[],
): Map<string, bigint> {
  const deltas = new Map<string, bigint>();
  entries.forEach((e, i) => {
    if (isPayeeKind(e.kind)) deltas.set(accountIds[i]!, (deltas.get(accountIds[i]!) ?? 0n) + e.amount);
  });
  return deltas;
}

/** InsufficientFunds for the first locked payee account its delta would take below zero. */
function checkFunds(locked: readonly LockedPayee[]): void {
  for (const a of locked) {
    if (a.delta < 0n && NON_NEGATIVE_KINDS.has(a.kind as AccountKind) && a.balance + a.delta < 0n) {
      throw new InsufficientFunds(
        { kind: a.kind, owner: a.owner, currency: a.currency },
        a.balance,
        -a.delta,
      );
    }
  }
}

function negate(m: Money): Money {
  return { ...m, amount: (-BigInt(m.amount)).toString() };
}

function encodeCursor(entryId: string): string {
  return Buffer.from(JSON.stringify({ v: 1, before: entryId })).toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as {
      v?: unknown;
      before?: unknown;
    };
    if (parsed.v === 1 && typeof parsed.before === 'string' && /^\d{1,19}$/.test(parsed.before))
      return parsed.before;
  } catch {
    // fall through
  }
  throw new InvalidCursor();
}
