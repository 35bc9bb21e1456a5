// Server-side prepared statements for the hot path's SQL. A statement run through `sql(…, { prepare: true })`
// is parsed, analysed and planned once per connection instead of on every call: on a posting that is about
// half of PostgreSQL's CPU for it. The text carries a marker; the pool's clients (marked by preparing())
// send such a text as a named statement, one name per distinct text.
//
// Off on PGlite: its wire server shares one session among all connections, so two connections preparing
// the same name would collide (openDatabase asks the server which it is).
//
// A prepared statement must name its result columns (no `*`): a column a migration adds would otherwise make
// PostgreSQL refuse the cached plan ("cached plan must not change result type") until the connection closes.

export const PREPARE_MARK = '/* prepared */ ';

const names = new Map<string, string>();
/** One name per distinct text, for the life of the process. */
function nameOf(text: string): string {
  let name = names.get(text);
  if (name === undefined) {
    name = `disburse_${names.size}`;
    names.set(text, name);
  }
  return name;
}

// A `*` (or `alias.*`) that is an item of a SELECT or RETURNING list: first in it or after a comma, and
// followed by the next item, FROM or the end. `count(*)` and `a * b` are not items.
const STAR_ITEM =
  /(?:\b(?:SELECT(?:\s+DISTINCT)?|RETURNING)\s+|,\s*)(?:"?\w+"?\.)?\*(?=\s*(?:,|\bFROM\b|\)|;|$))/i;

/** Throws when `text` cannot be prepared safely (a `*` result list); a programming error, caught by tests. */
export function assertPreparable(text: string): void {
  if (STAR_ITEM.test(text)) {
    throw new Error(`a prepared statement must name its result columns, not *: ${text.slice(0, 120)}`);
  }
}

type Query = (...args: unknown[]) => unknown;
const wrapped = new WeakSet<object>();

/** Makes `client` send marked texts as named statements (once per client; `enabled()` read per query). */
export function preparing(client: object, enabled: () => boolean): void {
  if (wrapped.has(client)) return;
  wrapped.add(client);
  const c = client as { query: Query };
  // The class's query looked up per call, so a hook on it (bench/sql-count.ts) still sees every query.
  const proto = Object.getPrototypeOf(c) as { query: Query };
  c.query = (...args: unknown[]) => {
    const text = args[0];
    if (
      typeof text === 'string' &&
      text.startsWith(PREPARE_MARK) &&
      enabled() &&
      typeof args[2] !== 'function'
    ) {
      return proto.query.call(c, { name: nameOf(text), text, values: args[1] ?? [] });
    }
    return proto.query.apply(c, args);
  };
}
