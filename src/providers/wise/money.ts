// Wise speaks decimals in the currency's unit ("sourceAmount": 12.34); Disburse speaks integer minor units.
// The conversion is done on the decimal TEXT, never through a float: requests carry the literal through
// JSON.rawJSON, answers are read with the source text of each amount (JSON.parse source access, Node ≥ 21).

/** Amount fields of Wise answers whose source text is kept (ids stay numbers). */
const DECIMAL_KEYS = new Set([
  'sourceAmount',
  'targetAmount',
  'rate',
  'total',
  'value',
  'sourceValue',
  'targetValue',
]);

interface JsonWithRaw {
  rawJSON(text: string): unknown;
  parse(
    text: string,
    reviver: (key: string, value: unknown, context: { source?: string }) => unknown,
  ): unknown;
}
const J = JSON as unknown as JsonWithRaw;

/** JSON.parse keeping the decimal text of the amount fields (a string, e.g. "12.30"). */
export function parseWiseJson(text: string): unknown {
  return J.parse(text, (key, value, context) =>
    typeof value === 'number' && DECIMAL_KEYS.has(key) && context.source !== undefined
      ? context.source
      : value,
  );
}

/** A JSON number literal written as is (e.g. 12.30), for JSON.stringify. */
export function decimalLiteral(text: string): unknown {
  return J.rawJSON(text);
}

/** 1234n at scale 2 → "12.34". */
export function toDecimal(minor: bigint, scale: number): string {
  if (minor < 0n) throw new RangeError('amounts sent to Wise are never negative');
  if (scale === 0) return minor.toString();
  const s = minor.toString().padStart(scale + 1, '0');
  return `${s.slice(0, -scale)}.${s.slice(-scale)}`;
}

/** "12.3" at scale 2 → 1230n. More decimals than the scale, or anything but a plain decimal, throws. */
export function toMinor(decimal: string | number, scale: number): bigint {
  const text = typeof decimal === 'number' ? decimal.toString() : decimal.trim();
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new RangeError(`not a decimal amount: ${text}`);
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > scale) throw new RangeError(`${text} has more than ${scale} decimals`);
  return BigInt(m[1]!) * 10n ** BigInt(scale) + BigInt(frac.padEnd(scale, '0') || '0');
}
