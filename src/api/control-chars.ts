// Control characters are refused at the API edge, in every string of params, query and body (and in object
// keys): PostgreSQL text cannot hold NUL, and no name, reason or description needs the others. A payout
// cancelled with "bye\u0000" was taken by the workflow, which then could never record it (issue 14).
// Tab, line feed and carriage return are allowed only in fields a route declares multi-line (a CSV body).
import type { FieldError } from '../http/errors.ts';

// C0 controls except tab/LF/CR, DEL, and the C1 controls: matching them is the point here. Unpaired
// surrogates too (in /u mode a pair is one code point, so only a lone half matches): JSON.stringify escapes
// one and PostgreSQL's jsonb refuses the escape, so the request's own audit/idempotency write would fail.
// biome-ignore lint/suspicious/noControlCharactersInRegex: this module exists to find control characters
const ALWAYS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uD800-\uDFFF]/u;
const LINE_BREAKS = /[\t\n\r]/u;

function describe(match: string): string {
  return `U+${match.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Field errors for every string containing a control character. `multiline` lists the dotted paths (below
 * `where`, array indexes written as *) where tab and line breaks are allowed.
 */
export function controlCharErrors(
  value: unknown,
  where: 'params' | 'query' | 'body',
  multiline: ReadonlySet<string> = new Set(),
): FieldError[] {
  const errors: FieldError[] = [];
  const visit = (v: unknown, path: string[], pattern: string[]) => {
    if (typeof v === 'string') {
      const bad = ALWAYS.exec(v) ?? (multiline.has(pattern.join('.')) ? null : LINE_BREAKS.exec(v));
      if (bad) {
        errors.push({
          path: [where, ...path].join('.'),
          message: `must not contain control characters (found ${describe(bad[0])})`,
          code: 'control_character',
        });
      }
      return;
    }
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) visit(item, [...path, String(i)], [...pattern, '*']);
      return;
    }
    if (v && typeof v === 'object') {
      for (const [k, item] of Object.entries(v)) {
        const bad = ALWAYS.exec(k) ?? LINE_BREAKS.exec(k);
        if (bad) {
          errors.push({
            path: [where, ...path].join('.'),
            message: `field names must not contain control characters (found ${describe(bad[0])})`,
            code: 'control_character',
          });
          continue;
        }
        visit(item, [...path, k], [...pattern, k]);
      }
    }
  };
  visit(value, [], []);
  return errors;
}
