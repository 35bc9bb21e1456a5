import { VisibilityQueryError } from './errors.ts';

// Tokens of the list-filter language. Positions are 1-based so they match what a person counts.
export type Token =
  | { kind: 'word'; text: string; pos: number } // bare identifier or keyword (AND, IN, true, ...)
  | { kind: 'quotedName'; text: string; pos: number } // `backticked attribute`
  | { kind: 'string'; text: string; pos: number }
  | { kind: 'number'; text: string; pos: number }
  | { kind: 'op'; text: '=' | '!=' | '>' | '>=' | '<' | '<='; pos: number }
  | { kind: 'punct'; text: '(' | ')' | ','; pos: number }
  | { kind: 'end'; text: ''; pos: number };

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '`': '`',
};

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isWordStart = (c: string) => /[A-Za-z_]/.test(c);
const isWordPart = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);

export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i]!;
    const pos = i + 1;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      const [text, next] = readQuoted(query, i, 'string');
      tokens.push({ kind: 'string', text, pos });
      i = next;
    } else if (c === '`') {
      const [text, next] = readQuoted(query, i, 'attribute name');
      if (text === '') throw new VisibilityQueryError('empty attribute name ``', pos);
      tokens.push({ kind: 'quotedName', text, pos });
      i = next;
    } else if (isDigit(c) || ((c === '-' || c === '+' || c === '.') && isDigit(query[i + 1]))) {
      const match = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(query.slice(i))!;
      if (isWordPart(query[i + match[0].length])) {
        throw new VisibilityQueryError(`malformed number "${query.slice(i).split(/[\s(),]/)[0]}"`, pos);
      }
      tokens.push({ kind: 'number', text: match[0], pos });
      i += match[0].length;
    } else if (isWordStart(c)) {
      let j = i + 1;
      while (isWordPart(query[j])) j++;
      tokens.push({ kind: 'word', text: query.slice(i, j), pos });
      i = j;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', text: c, pos });
      i++;
    } else if (c === '!' || c === '<' || c === '>' || c === '=') {
      const two = query.slice(i, i + 2);
      if (two === '!=' || two === '<>') {
        tokens.push({ kind: 'op', text: '!=', pos });
        i += 2;
      } else if (two === '>=' || two === '<=') {
        tokens.push({ kind: 'op', text: two, pos });
        i += 2;
      } else if (two === '==') {
        throw new VisibilityQueryError('unknown operator "=="', pos, 'use "=" for equality');
      } else if (c === '!') {
        throw new VisibilityQueryError('unexpected character "!"', pos, 'use "!=" for inequality or NOT');
      } else {
        tokens.push({ kind: 'op', text: c as '=' | '<' | '>', pos });
        i++;
      }
    } else {
      throw new VisibilityQueryError(`unexpected character "${c}"`, pos);
    }
  }
  tokens.push({ kind: 'end', text: '', pos: query.length + 1 });
  return tokens;
}

/** Reads a quoted run starting at `start` (the quote); a doubled quote or a backslash escapes. */
function readQuoted(query: string, start: number, what: string): [string, number] {
  const quote = query[start]!;
  let out = '';
  let i = start + 1;
  while (i < query.length) {
    const c = query[i]!;
    if (c === '\\') {
      const next = query[i + 1];
      if (next === undefined) break;
      out += ESCAPES[next] ?? next;
      i += 2;
    } else if (c === quote) {
      if (query[i + 1] === quote) {
        out += quote;
        i += 2;
      } else {
        return [out, i + 1];
      }
    } else {
      out += c;
      i++;
    }
  }
  throw new VisibilityQueryError(`unterminated ${what}`, start + 1, `add the closing ${quote}`);
}
