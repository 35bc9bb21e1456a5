// Examples for the OpenAPI document, generated from the JSON Schema the zod schemas produce: a schema's own
// `examples` (zod `.meta({ examples })` on shared schemas such as money and ids) first, else a value built
// from its type, format, bounds and pattern. The caller keeps an example only when the zod schema itself
// accepts it, so no example in the document is one the API would refuse.
type Json = Record<string, unknown>;

const FORMATS: Record<string, string> = {
  'date-time': '2026-11-30T12:00:00.000Z',
  date: '2026-11-30',
  email: 'ada@example.com',
  uri: 'https://platform.example.com/hooks/disburse',
  'uri-reference': '/v1/payees/pe_0123456789abcdef01234567',
  uuid: '0b9f3c1e-6a7d-4e0a-9d43-5b8c2f1e7a10',
};

/**
 * A string matching a simple anchored pattern: literals, \d, \w, \S, character classes and quantifiers.
 * Undefined for anything else (groups, alternation): such fields need `.meta({ examples })`.
 */
export function sampleOfPattern(pattern: string): string | undefined {
  if (!pattern.startsWith('^') || !pattern.endsWith('$')) return undefined;
  const src = pattern.slice(1, -1);
  let out = '';
  let i = 0;
  while (i < src.length) {
    let atom: string;
    const c = src[i]!;
    if (c === '(' || c === ')' || c === '|' || c === '.') return undefined;
    if (c === '\\') {
      const e = src[i + 1];
      atom = e === 'd' ? '1' : e === 'w' || e === 'S' ? 'a' : e === 's' ? ' ' : (e ?? '');
      if (e === 'D' || e === 'W' || e === 'b' || e === 'B') return undefined;
      i += 2;
    } else if (c === '[') {
      const end = src.indexOf(']', i + 2);
      if (end < 0 || src[i + 1] === '^') return undefined;
      const cls = src.slice(i + 1, end);
      atom = cls.startsWith('\\d') ? '1' : cls.startsWith('\\w') ? 'a' : cls[0]!;
      i = end + 1;
    } else {
      atom = c;
      i += 1;
    }
    let count = 1;
    const q = src[i];
    if (q === '{') {
      const end = src.indexOf('}', i);
      const [min] = src.slice(i + 1, end).split(',');
      count = Math.max(Number(min), 0);
      if (Number.isNaN(count)) return undefined;
      i = end + 1;
    } else if (q === '?' || q === '*') {
      count = 0;
      i += 1;
    } else if (q === '+') {
      i += 1;
    }
    out += atom.repeat(count);
  }
  return out;
}

export function sampleOf(schema: unknown, components: Record<string, Json>, depth = 0): unknown {
  if (!schema || typeof schema !== 'object' || depth > 12) return undefined;
  const s = schema as Json;
  if (typeof s.$ref === 'string') {
    return sampleOf(components[s.$ref.replace('#/components/schemas/', '')], components, depth + 1);
  }
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  for (const key of ['anyOf', 'oneOf'] as const) {
    const list = s[key];
    if (Array.isArray(list)) {
      const branch = list.find((b) => (b as Json)?.type !== 'null') ?? list[0];
      return sampleOf(branch, components, depth + 1);
    }
  }
  if (Array.isArray(s.allOf)) {
    return Object.assign({}, ...s.allOf.map((b) => sampleOf(b, components, depth + 1) ?? {}));
  }
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'string': {
      if (typeof s.format === 'string' && FORMATS[s.format]) return FORMATS[s.format];
      if (typeof s.pattern === 'string') return sampleOfPattern(s.pattern);
      const min = typeof s.minLength === 'number' ? s.minLength : 1;
      return 'example'.padEnd(min, 'x').slice(0, typeof s.maxLength === 'number' ? s.maxLength : undefined);
    }
    case 'integer':
    case 'number': {
      const min =
        typeof s.minimum === 'number'
          ? s.minimum
          : typeof s.exclusiveMinimum === 'number'
            ? s.exclusiveMinimum + 1
            : 1;
      const max = typeof s.maximum === 'number' ? s.maximum : Number.MAX_SAFE_INTEGER;
      return Math.min(Math.max(min, 1), max);
    }
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const item = sampleOf(s.items, components, depth + 1);
      return item === undefined ? [] : [item];
    }
    case 'object': {
      const out: Json = {};
      for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) {
        const value = sampleOf(v, components, depth + 1);
        if (value !== undefined) out[k] = value;
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** Keeps only the required properties of an object sample (for schemas that refuse some combinations). */
export function requiredOnly(schema: unknown, components: Record<string, Json>, sample: unknown): unknown {
  let s = schema as Json | undefined;
  if (s && typeof s.$ref === 'string') s = components[s.$ref.replace('#/components/schemas/', '')];
  if (!s || !sample || typeof sample !== 'object' || Array.isArray(sample)) return sample;
  const required = new Set((s.required as string[] | undefined) ?? []);
  return Object.fromEntries(Object.entries(sample).filter(([k]) => required.has(k)));
}
