import { createHash } from 'node:crypto';
import { type Money, MoneyError, parseMoney } from '../money/index.ts';
import { type AccountKind, type AccountRef, isAccountKind, isPayeeKind, PLATFORM } from './accounts.ts';
import { InvalidPosting, UnbalancedTransaction } from './errors.ts';

/** One leg of a posting: `amount` is signed; positive raises the account's balance, negative lowers it. */
export interface EntryInput {
  readonly account: { readonly kind: AccountKind; readonly owner?: string };
  readonly amount: Money;
}

export interface PostingInput {
  /** What the transaction is, e.g. 'earnings.credit', 'payout.fee' (lower case, dots and underscores). */
  readonly type: string;
  /** Business key derived from what the posting represents (never a workflow run id). Unique. */
  readonly idempotencyKey: string;
  readonly metadata?: Record<string, unknown>;
  readonly entries: readonly EntryInput[];
}

export interface NormalizedEntry extends AccountRef {
  readonly amount: bigint;
}

export interface NormalizedPosting {
  readonly type: string;
  readonly idempotencyKey: string;
  readonly metadata: Record<string, unknown>;
  readonly entries: readonly NormalizedEntry[];
  readonly resolvesHoldId: string | null;
  readonly reversesId: string | null;
  /** Hash of what the posting does (type, entries, hold/reversal link); metadata is descriptive only. */
  readonly contentHash: string;
}

const TYPE = /^[a-z][a-z0-9_.]{0,63}$/;
const MAX_METADATA_BYTES = 16_384;

export function validateKey(key: unknown, field = 'idempotencyKey'): string {
  if (typeof key !== 'string' || key.length < 1 || key.length > 300) {
    throw new InvalidPosting(field, 'must be a non-empty string of at most 300 characters');
  }
  return key;
}

export function validateOwner(owner: unknown, kind: AccountKind, field: string): string {
  const value = owner ?? (isPayeeKind(kind) ? undefined : PLATFORM);
  if (typeof value !== 'string' || value.length < 1 || value.length > 200) {
    throw new InvalidPosting(field, `${kind} needs an owner: a payee id (1-200 characters)`);
  }
  if (isPayeeKind(kind) && value === PLATFORM) {
    throw new InvalidPosting(field, `${kind} belongs to a payee; 'platform' is not a payee id`);
  }
  return value;
}

export function validateMetadata(metadata: unknown, field = 'metadata'): Record<string, unknown> {
  if (metadata === undefined) return {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new InvalidPosting(field, 'must be a JSON object');
  }
  let text: string;
  try {
    text = JSON.stringify(metadata);
  } catch {
    throw new InvalidPosting(field, 'must be JSON-serialisable');
  }
  if (text.length > MAX_METADATA_BYTES)
    throw new InvalidPosting(field, `must be at most ${MAX_METADATA_BYTES} bytes`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Money that must be strictly positive; MoneyError becomes InvalidPosting with the field name. */
export function positiveAmount(input: unknown, field: string, currency?: string): Money {
  return asPosting(() => parseMoney(input, { field, allowZero: false, ...(currency ? { currency } : {}) }));
}

export function asPosting<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof MoneyError) {
      const posting = new InvalidPosting(error.field, error.message.slice(error.field.length + 2));
      (posting as { cause?: unknown }).cause = error;
      throw posting;
    }
    throw error;
  }
}

/** Validates everything before any write; throws InvalidPosting / UnbalancedTransaction. */
export function normalizePosting(
  input: PostingInput,
  links: { resolvesHoldId?: string | null; reversesId?: string | null } = {},
): NormalizedPosting {
  if (typeof input !== 'object' || input === null) throw new InvalidPosting('posting', 'must be an object');
  if (typeof input.type !== 'string' || !TYPE.test(input.type)) {
    throw new InvalidPosting(
      'type',
      "must be lower case letters, digits, '.' or '_' (e.g. 'earnings.credit')",
    );
  }
  const idempotencyKey = validateKey(input.idempotencyKey);
  const metadata = validateMetadata(input.metadata);
  if (!Array.isArray(input.entries) || input.entries.length < 2) {
    throw new InvalidPosting('entries', 'a transaction needs at least 2 entries');
  }
  const sums = new Map<string, bigint>();
  const entries = input.entries.map((entry, i): NormalizedEntry => {
    const field = `entries[${i}]`;
    const kind = entry?.account?.kind;
    if (!isAccountKind(kind))
      throw new InvalidPosting(`${field}.account.kind`, `unknown account kind ${JSON.stringify(kind)}`);
    const owner = validateOwner(entry.account.owner, kind, `${field}.account.owner`);
    const amount = asPosting(() =>
      parseMoney(entry.amount, { field: `${field}.amount`, allowNegative: true, allowZero: false }),
    );
    const minor = BigInt(amount.amount);
    sums.set(amount.currency, (sums.get(amount.currency) ?? 0n) + minor);
    return { kind, owner, currency: amount.currency, amount: minor };
  });
  for (const [currency, sum] of sums) {
    if (sum !== 0n) throw new UnbalancedTransaction(currency, sum);
  }
  const resolvesHoldId = links.resolvesHoldId ?? null;
  const reversesId = links.reversesId ?? null;
  return {
    type: input.type,
    idempotencyKey,
    metadata,
    entries,
    resolvesHoldId,
    reversesId,
    contentHash: contentHash(input.type, entries, resolvesHoldId, reversesId),
  };
}

export function contentHash(
  type: string,
  entries: readonly NormalizedEntry[],
  resolvesHoldId: string | null,
  reversesId: string | null,
): string {
  // Order-insensitive: the same legs listed differently are the same posting.
  const legs = entries.map((e) => `${e.kind}|${e.owner}|${e.currency}|${e.amount}`).sort();
  return createHash('sha256')
    .update(JSON.stringify([type, resolvesHoldId, reversesId, legs]))
    .digest('base64url');
}
