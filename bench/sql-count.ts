// Counts the SQL a process sends through `pg`, for bench:payouts (counted, not estimated). Loaded with
// `node --import bench/sql-count.ts` into the API and worker processes the bench starts, and imported by
// the bench itself for the in-process case. On SIGUSR2 the counts go to $BENCH_SQL_COUNT_FILE as JSON.
// A statement is any query but transaction control; a transaction is each BEGIN, and each statement sent
// outside one (it commits on its own). A round trip is every query sent, transaction control included: each
// costs the client a socket write and a wait.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

type Query = (this: object, ...args: unknown[]) => unknown;
// The CommonJS module MikroORM's ESM import of `pg` wraps (pg/esm re-exports it): the same Client class.
const pg = createRequire(import.meta.url)('pg') as { Client: { prototype: { query: Query } } };

export interface SqlCounts {
  statements: number;
  transactions: number;
  roundTrips: number;
  /** Statements by their text (whitespace and literals folded, first 120 characters): what runs per step. */
  byText: Record<string, number>;
}

const counts: SqlCounts = { statements: 0, transactions: 0, roundTrips: 0, byText: {} };
const inTransaction = new WeakSet<object>();

function count(client: object, text: string): void {
  counts.roundTrips++;
  const folded = text.replace(/\s+/g, ' ').trim();
  const head = folded.slice(0, 20).toUpperCase();
  if (/^(BEGIN|START TRANSACTION)\b/.test(head)) {
    counts.transactions++;
    inTransaction.add(client);
    return;
  }
  if (/^(COMMIT|END|ROLLBACK)\b/.test(head) && !/^ROLLBACK TO\b/.test(head)) {
    inTransaction.delete(client);
    return;
  }
  if (/^(SAVEPOINT|RELEASE|ROLLBACK TO)\b/.test(head)) return;
  counts.statements++;
  if (!inTransaction.has(client)) counts.transactions++;
  // Literals folded too (MikroORM inlines its parameters), so one statement is one line of the profile.
  const key = folded
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\b\d+\b/g, '?')
    .slice(0, 120);
  counts.byText[key] = (counts.byText[key] ?? 0) + 1;
}

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(this: object, ...args: unknown[]) {
  const first = args[0] as string | { text?: unknown } | undefined;
  const text = typeof first === 'string' ? first : first?.text;
  if (typeof text === 'string') count(this, text);
  return query.apply(this, args);
};

/** A copy of the counts so far. */
export function sqlCounts(): SqlCounts {
  return { ...counts, byText: { ...counts.byText } };
}

const file = process.env.BENCH_SQL_COUNT_FILE;
if (file) process.on('SIGUSR2', () => writeFileSync(file, JSON.stringify(counts)));
