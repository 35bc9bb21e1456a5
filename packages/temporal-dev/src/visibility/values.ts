import { VisibilityQueryError } from './errors.ts';
import type { Literal } from './parser.ts';
import { EXECUTION_STATUSES, type SearchAttributeKind } from './types.ts';

// How each attribute kind is read from a record and from a query literal, and how values compare.
// Values are normalised so comparison is cheap: Int → bigint, Datetime → bigint nanoseconds since the
// epoch, ExecutionStatus → its enum index, Text → lower-cased tokens.

/**
 * ExecutionStatus behaves like a Keyword restricted to the status names; it orders by enum number.
 * Duration is ExecutionDuration's: an Int of nanoseconds that queries may also write as a duration.
 */
export type AttributeKind = SearchAttributeKind | 'ExecutionStatus' | 'Duration';

export type Scalar = string | bigint | number | boolean;

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** RFC3339 timestamp → nanoseconds since the epoch, or undefined when it is not one. */
export function parseRfc3339(text: string): bigint | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, , sign, offH, offM] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const ms = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59 ||
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day
  ) {
    return undefined;
  }
  let offsetMinutes = 0;
  if (sign) {
    if (Number(offH) > 23 || Number(offM) > 59) return undefined;
    offsetMinutes = (Number(offH) * 60 + Number(offM)) * (sign === '-' ? -1 : 1);
  }
  const nanosOfSecond = BigInt((fraction ?? '').padEnd(9, '0') || '0');
  return (BigInt(ms) - BigInt(offsetMinutes) * 60_000n) * 1_000_000n + nanosOfSecond;
}

export function dateToNanos(date: Date): bigint | undefined {
  const ms = date.getTime();
  return Number.isNaN(ms) ? undefined : BigInt(ms) * 1_000_000n;
}

/** Splits Text the way a word index does: lower case, letters/digits/underscore runs. */
export function textTokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}_]+/u)
    .filter((t) => t !== '');
}

/**
 * A record's stored value, normalised for `kind`; null when absent or of an unusable type (a value
 * the store could not have indexed behaves as missing rather than crashing a list call).
 */
export function normalizeStored(kind: AttributeKind, raw: unknown): Scalar | string[] | null {
  if (raw === undefined || raw === null) return null;
  switch (kind) {
    case 'Keyword':
    case 'Text':
      return typeof raw === 'string' ? raw : null;
    case 'ExecutionStatus': {
      const index = EXECUTION_STATUSES.indexOf(raw as (typeof EXECUTION_STATUSES)[number]);
      return index < 0 ? null : index;
    }
    case 'Int':
    case 'Duration':
      if (typeof raw === 'bigint') return raw;
      if (typeof raw === 'number' && Number.isInteger(raw)) return BigInt(raw);
      if (typeof raw === 'string' && /^-?\d+$/.test(raw)) return BigInt(raw);
      return null;
    case 'Double':
      if (typeof raw === 'number') return Number.isNaN(raw) ? null : raw;
      if (typeof raw === 'bigint') return Number(raw);
      return null;
    case 'Bool':
      return typeof raw === 'boolean' ? raw : null;
    case 'Datetime':
      if (raw instanceof Date) return dateToNanos(raw) ?? null;
      if (typeof raw === 'string') return parseRfc3339(raw) ?? null;
      return null;
    case 'KeywordList': {
      const list = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : null;
      if (list === null) return null;
      const strings = list.filter((v): v is string => typeof v === 'string');
      // An empty list is indistinguishable from an unset attribute in the index.
      return strings.length === 0 ? null : strings;
    }
  }
}

const EXAMPLES: Record<AttributeKind, string> = {
  Keyword: "a quoted string, e.g. 'abc'",
  Text: "a quoted string, e.g. 'word'",
  KeywordList: "a quoted string, e.g. 'abc'",
  Int: 'an integer, e.g. 42',
  Duration: "nanoseconds, a duration such as '90s', '1h30m', '150ms', or 'hh:mm:ss'",
  Double: 'a number, e.g. 4.2',
  Bool: 'true or false',
  Datetime: "an RFC3339 timestamp, e.g. '2024-05-01T00:00:00Z'",
  ExecutionStatus: `one of ${EXECUTION_STATUSES.map((s) => `'${s}'`).join(', ')} (or its number 1-7)`,
};

function literalText(literal: Literal): string {
  if (literal.kind === 'string') return `'${literal.value}'`;
  if (literal.kind === 'number') return literal.text;
  return String(literal.value);
}

/** A query literal as a value of `kind`, or a VisibilityQueryError naming the attribute and position. */
export function coerceLiteral(kind: AttributeKind, literal: Literal, attribute: string): Scalar {
  const fail = (): never => {
    throw new VisibilityQueryError(
      `${kind} attribute "${attribute}" cannot be compared with ${literalText(literal)}`,
      literal.pos,
      `expected ${EXAMPLES[kind]}`,
    );
  };
  switch (kind) {
    case 'Keyword':
    case 'Text':
    case 'KeywordList':
      return literal.kind === 'string' ? literal.value : fail();
    case 'ExecutionStatus': {
      // The proto enum number is accepted too (1 = Running ... 7 = TimedOut).
      if (literal.kind === 'number' && /^[1-7]$/.test(literal.text)) return Number(literal.text) - 1;
      if (literal.kind !== 'string') return fail();
      const wanted = literal.value.toLowerCase().replace(/_/g, '');
      const index = EXECUTION_STATUSES.findIndex((s) => s.toLowerCase() === wanted);
      return index < 0 ? fail() : index;
    }
    case 'Int':
      if (literal.kind === 'number' && /^[-+]?\d+$/.test(literal.text)) return BigInt(literal.text);
      return fail();
    case 'Duration':
      if (literal.kind === 'number' && /^\d+$/.test(literal.text)) return BigInt(literal.text);
      return literal.kind === 'string' ? (parseDuration(literal.value) ?? fail()) : fail();
    case 'Double':
      return literal.kind === 'number' ? Number(literal.text) : fail();
    case 'Bool':
      if (literal.kind === 'bool') return literal.value;
      if (literal.kind === 'string' && /^(true|false)$/i.test(literal.value)) {
        return literal.value.toLowerCase() === 'true';
      }
      return fail();
    case 'Datetime': {
      if (literal.kind === 'string') return parseRfc3339(literal.value) ?? fail();
      // Temporal also accepts a bare integer as nanoseconds since the epoch.
      if (literal.kind === 'number' && /^-?\d+$/.test(literal.text)) return BigInt(literal.text);
      return fail();
    }
  }
}

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
};

/**
 * ExecutionDuration values as the server parses them: a duration such as '1h30m' or '1.5s' (Go's units,
 * and d for days), or 'hh:mm:ss'; nanoseconds, or undefined when it is neither.
 */
export function parseDuration(text: string): bigint | undefined {
  const clock = /^(\d+):([0-5]\d):([0-5]\d)$/.exec(text);
  if (clock)
    return (BigInt(clock[1]!) * 3600n + BigInt(clock[2]!) * 60n + BigInt(clock[3]!)) * 1_000_000_000n;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0n;
  for (const [, whole, fraction, unit] of text.matchAll(/(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h|d)/g)) {
    const scale = UNIT_NANOS[unit!]!;
    const digits = (fraction ?? '').slice(0, 9);
    total += BigInt(whole!) * scale + (BigInt(digits || '0') * scale) / 10n ** BigInt(digits.length);
  }
  return total;
}

/** Total order on two values of the same normalised kind. */
export function compareScalars(a: Scalar, b: Scalar): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
