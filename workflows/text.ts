// Text a workflow takes from a caller must be storable: PostgreSQL text cannot hold NUL, and a lone
// surrogate breaks the JSON a status is recorded as. The API edge refuses control characters already
// (src/api/control-chars.ts); update validators check again, since the workflow can be reached without it.

// C0 controls except tab/LF/CR, DEL, and the C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
// Unpaired UTF-16 surrogates: JSON.stringify escapes them, and PostgreSQL refuses the escape in jsonb.
const LONE_SURROGATES = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Why `text` (a field named `field`) cannot be taken, or undefined when it can. */
export function unstorableText(field: string, text: string): string | undefined {
  const bad = CONTROL.exec(text);
  if (!bad) return undefined;
  const code = bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return `${field} must not contain control characters (found U+${code})`;
}

/** A copy of `value` with every unstorable character in its strings replaced by U+FFFD. */
export function storable<T>(value: T): T {
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) =>
    typeof v === 'string' ? v.replace(CONTROLS, '\uFFFD').replace(LONE_SURROGATES, '\uFFFD') : v,
  ) as T;
}
