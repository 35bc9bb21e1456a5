// Counts the SQL a process sends through `pg` (counted, not estimated). bench:payouts loads it with
// `node --import bench/sql-count.ts` into the API and worker processes it starts, and imports it for the
// in-process case; on SIGUSR2 the process's counts go to $BENCH_SQL_COUNT_FILE as JSON. Tests hold code to
// what it sends with sqlSent(run): the queries sent while `run` runs, counted the same way.
// A statement is any query but transaction control; a transaction is each BEGIN, and each statement sent
// outside one (it commits on its own). A round trip is every query sent, transaction control included: each
// costs the client a socket write and a wait.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

type Query = (this: object, ...args: unknown[]) => unknown;
// The CommonJS module MikroORM's ESM import of `pg` wraps (pg/esm re-exports it): the same Client class.
// Under Jest, createRequire loads it from the test's module registry, as MikroORM's import does.
const pg = createRequire(import.meta.url)('pg') as { Client: { prototype: { query: Query } } };

export interface SqlCounts {
  statements: number;
  transactions: number;
  roundTrips: number;
  /** Statements by their text (whitespace and literals folded, first 120 characters): what runs per step. */
  byText: Record<string, number>;
}

/** The queries sent while a sqlSent callback ran. */
export interface SqlSent<T> extends SqlCounts {
  /** Every text sent, in order, as sent. */
  texts: string[];
  /** What the callback returned. */
  result: T;
}

const noCounts = (): SqlCounts => ({ statements: 0, transactions: 0, roundTrips: 0, byText: {} });
const counts = noCounts();
/** The sqlSent calls running: each query sent goes to every one of them too. */
const recording = new Set<SqlCounts & { texts: string[] }>();
// A connection's state, kept from the first query, so a recording started inside a transaction knows it.
const inTransaction = new WeakSet<object>();

/** What one query adds to the counts: whether it starts a transaction; the key of a statement. */
interface Counted {
  starts: boolean;
  statement?: string;
}

/** Classifies a query `client` sends, keeping the client's transaction state. */
function classify(client: object, text: string): Counted {
  const folded = text.replace(/\s+/g, ' ').trim();
  const head = folded.slice(0, 20).toUpperCase();
  if (/^(BEGIN|START TRANSACTION)\b/.test(head)) {
    inTransaction.add(client);
    return { starts: true };
  }
  if (/^(COMMIT|END|ROLLBACK)\b/.test(head) && !/^ROLLBACK TO\b/.test(head)) {
    inTransaction.delete(client);
    return { starts: false };
  }
  if (/^(SAVEPOINT|RELEASE|ROLLBACK TO)\b/.test(head)) return { starts: false };
  // Literals folded too (MikroORM inlines its parameters), so one statement is one line of the profile.
  const statement = folded
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\b\d+\b/g, '?')
    .slice(0, 120);
  return { starts: !inTransaction.has(client), statement };
}

function add(to: SqlCounts, query: Counted): void {
  to.roundTrips++;
  if (query.starts) to.transactions++;
  if (query.statement === undefined) return;
  to.statements++;
  to.byText[query.statement] = (to.byText[query.statement] ?? 0) + 1;
}

const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(this: object, ...args: unknown[]) {
  const first = args[0] as string | { text?: unknown } | undefined;
  const text = typeof first === 'string' ? first : first?.text;
  if (typeof text === 'string') {
    const counted = classify(this, text);
    add(counts, counted);
    for (const r of recording) {
      r.texts.push(text);
      add(r, counted);
    }
  }
  return query.apply(this, args);
};

/** A copy of the counts so far. */
export function sqlCounts(): SqlCounts {
  return { ...counts, byText: { ...counts.byText } };
}

/**
 * The queries sent through `pg` while `run` runs, with what it returned. Every client of the process counts:
 * run nothing else against the database meanwhile.
 */
export async function sqlSent<T>(run: () => Promise<T>): Promise<SqlSent<T>> {
  const sent = { ...noCounts(), texts: [] as string[] };
  recording.add(sent);
  try {
    const result = await run();
    return { ...sent, result };
  } finally {
    recording.delete(sent);
  }
}

const file = process.env.BENCH_SQL_COUNT_FILE;
if (file) process.on('SIGUSR2', () => writeFileSync(file, JSON.stringify(counts)));
