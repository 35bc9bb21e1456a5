/**
 * `npm run bench:ledger [-- --n 100000 --batch 5000 --hot 2000 --workers 16]`
 *
 * Posts N balanced transfers (platform_funding → one of 1,000 payee wallets, 2 entries each) through
 * Ledger.postBatch, then inserts the same rows into the same tables (same constraints and triggers)
 * with raw multi-row INSERTs and with COPY as baselines; prints transfers/s and ours/COPY. Then the hot
 * account case: concurrent single postings (Ledger.post) all hitting one wallet, entries/s.
 * Runs in a throw-away schema that is dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { parseCli } from '../src/cli/args.ts';
import { loadConfig } from '../src/config/index.ts';
import { startEmbeddedDatabase } from '../src/db/embedded.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/open.ts';
import { sql } from '../src/db/sql.ts';
import { Ledger, type PostingInput, verifyLedger } from '../src/ledger/index.ts';
import { contentHash, normalizePosting } from '../src/ledger/posting.ts';

const cli = parseCli({
  usage: `usage: npm run bench:ledger [-- --n N=100000 --batch B=5000 --hot H=2000 --workers W=16]

Posts N balanced transfers through Ledger.postBatch in batches of B, then the same rows with raw
multi-row INSERTs and with COPY (baselines, same run); then H concurrent single postings by W workers
on one hot wallet. Prints transfers/s and the ratio to COPY. Runs in a throw-away schema.
  --n N          transfers to post (default 100000)
  --batch B      transfers per batch / transaction (default 5000)
  --hot H        postings in the hot-account case (default 2000)
  --workers W    concurrent posters in the hot-account case (default 16)
  -h, --help     print this help and exit (nothing runs)

Database: DATABASE_URL (PostgreSQL) or embedded PGlite when unset.`,
  options: {
    n: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '5000' },
    hot: { type: 'string', default: '2000' },
    workers: { type: 'string', default: '16' },
  },
});
const N = cli.integer('n', { min: 1 });
const BATCH = cli.integer('batch', { min: 1 });
const HOT = cli.integer('hot', { min: 1 });
const WORKERS = cli.integer('workers', { min: 1 });
const PAYEES = 1000;

const { database } = loadConfig();
const embedded = database.url ? undefined : await startEmbeddedDatabase();
const url = database.url ?? embedded!.url;
const schema = `bench_ledger_${randomBytes(3).toString('hex')}`;
const db = await openDatabase({ url, schema, poolMax: WORKERS + 2 });

/** Minimal view of the pg client used for COPY FROM STDIN (pg has no bundled types). */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}
interface PgClient {
  query(q: unknown): unknown;
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  release(): void;
}
interface PgPool {
  connect(): Promise<PgClient>;
}

/** A pg "submittable" that streams `data` to a COPY … FROM STDIN statement. */
function copyIn(client: PgClient, text: string, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.query({
      submit(connection: PgConnection) {
        connection.query(text);
      },
      handleCopyInResponse(connection: PgConnection) {
        const bytes = Buffer.from(data);
        for (let i = 0; i < bytes.length; i += 1 << 16)
          connection.sendCopyFromChunk(bytes.subarray(i, i + (1 << 16)));
        connection.endCopyFrom();
      },
      handleCommandComplete() {},
      // pg drops a query from its bookkeeping on ErrorResponse, so an error settles the promise here.
      handleError(error: unknown) {
        reject(error);
      },
      handleReadyForQuery() {
        resolve();
      },
    });
  });
}

function transfers(prefix: string, count: number): PostingInput[] {
  return Array.from({ length: count }, (_, i) => ({
    type: 'period.credit',
    idempotencyKey: `${prefix}:${i}`,
    metadata: { period: prefix },
    entries: [
      {
        account: { kind: 'platform_funding' as const },
        amount: { amount: `-${100 + (i % 900)}`, currency: 'USD', scale: 2 },
      },
      {
        account: { kind: 'payee_available' as const, owner: `payee-${i % PAYEES}` },
        amount: { amount: `${100 + (i % 900)}`, currency: 'USD', scale: 2 },
      },
    ],
  }));
}

function rate(count: number, ms: number): string {
  return Number.isNaN(ms)
    ? 'n/a (no COPY FROM STDIN on PGlite)'
    : Math.round((count / ms) * 1000).toLocaleString('en');
}

function secs(ms: number): string {
  return Number.isNaN(ms) ? '' : ` (${(ms / 1000).toFixed(2)} s)`;
}

function ratio(a: number, b: number): string {
  return Number.isNaN(a) || Number.isNaN(b) ? 'n/a' : (a / b).toFixed(2);
}

try {
  await migrateDatabase(db);
  const ledger = new Ledger(db);
  // Warm-up: creates the 1,001 accounts, so every method below starts from the same state.
  await ledger.postBatch(transfers('warmup', PAYEES));
  const accountRows = await sql<{ id: string; kind: string; owner: string }>(
    db.em(),
    `SELECT id, kind, owner FROM "${schema}".ledger_accounts`,
  );
  const accountId = new Map(accountRows.map((r) => [`${r.kind}|${r.owner}`, r.id]));

  // 1. Ours: Ledger.postBatch, one database transaction per batch.
  const ours = transfers('ours', N);
  let t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) await ledger.postBatch(ours.slice(i, i + BATCH));
  const oursMs = performance.now() - t0;

  // Baselines insert precomputed rows (hash included) for the same transfers.
  const rows = (prefix: string) =>
    transfers(prefix, N).map((p) => {
      const n = normalizePosting(p);
      return {
        key: n.idempotencyKey,
        hash: contentHash(n.type, n.entries, null, null),
        metadata: JSON.stringify(n.metadata),
        entries: n.entries.map((e) => ({
          account: accountId.get(`${e.kind}|${e.owner}`)!,
          amount: e.amount.toString(),
        })),
      };
    });

  // 2. Raw multi-row INSERT … VALUES with bound parameters.
  const raw = rows('raw');
  t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const chunk = raw.slice(i, i + BATCH);
    await db.em().transactional(async (em) => {
      const params: unknown[] = [];
      const values = chunk.map((r) => {
        params.push(r.key, r.hash, r.metadata);
        const k = params.length;
        return `('period.credit', $${k - 2}, $${k - 1}, $${k}::jsonb)`;
      });
      const ids = await sql<{ id: string }>(
        em,
        `INSERT INTO "${schema}".ledger_transactions (type, idempotency_key, content_hash, metadata)
         VALUES ${values.join(',')} RETURNING id`,
        params,
      );
      const eparams: unknown[] = [];
      const evalues: string[] = [];
      chunk.forEach((r, j) => {
        for (const e of r.entries) {
          eparams.push(ids[j]!.id, e.account, e.amount);
          const k = eparams.length;
          evalues.push(`($${k - 2}::bigint, $${k - 1}::bigint, $${k}::bigint)`);
        }
      });
      await sql(
        em,
        `INSERT INTO "${schema}".ledger_entries (transaction_id, account_id, amount) VALUES ${evalues.join(',')}`,
        eparams,
      );
    });
  }
  const rawMs = performance.now() - t0;

  // 3. COPY FROM STDIN (ids reserved from the identity sequence so entries can reference them).
  // Embedded PGlite cannot do COPY FROM STDIN over the wire (its backend sees EOF mid-copy): skipped there.
  let copyMs = Number.NaN;
  let bareMs = Number.NaN;
  if (!embedded) {
    const copy = rows('copy');
    const pool = (await db.orm.em.getConnection().getNativeClient()) as unknown as PgPool;
    const client = await pool.connect();
    try {
      t0 = performance.now();
      for (let i = 0; i < N; i += BATCH) {
        const chunk = copy.slice(i, i + BATCH);
        await client.query('BEGIN');
        const { rows: ids } = await client.query(
          `SELECT nextval(pg_get_serial_sequence('"${schema}".ledger_transactions', 'id'))::text AS id
             FROM generate_series(1, $1)`,
          [chunk.length],
        );
        const copyText = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
        await copyIn(
          client,
          `COPY "${schema}".ledger_transactions (id, type, idempotency_key, content_hash, metadata) FROM STDIN`,
          chunk
            .map(
              (r, j) =>
                `${ids[j]!.id}\tperiod.credit\t${copyText(r.key)}\t${r.hash}\t${copyText(r.metadata)}\n`,
            )
            .join(''),
        );
        await copyIn(
          client,
          `COPY "${schema}".ledger_entries (transaction_id, account_id, amount) FROM STDIN`,
          chunk
            .flatMap((r, j) => r.entries.map((e) => `${ids[j]!.id}\t${e.account}\t${e.amount}\n`))
            .join(''),
        );
        await client.query('COMMIT');
      }
      copyMs = performance.now() - t0;

      // 3b. For scale: COPY into bare copies of the tables (indexes, no triggers / foreign keys), i.e. what
      // the same rows cost without the database-enforced invariants.
      await client.query(
        `CREATE TABLE "${schema}".bare_transactions (LIKE "${schema}".ledger_transactions INCLUDING DEFAULTS INCLUDING INDEXES);
         CREATE TABLE "${schema}".bare_entries (LIKE "${schema}".ledger_entries INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)`,
      );
      const bare = rows('bare');
      t0 = performance.now();
      for (let i = 0; i < N; i += BATCH) {
        const chunk = bare.slice(i, i + BATCH);
        await client.query('BEGIN');
        const base = i + 1;
        await copyIn(
          client,
          `COPY "${schema}".bare_transactions (id, type, idempotency_key, content_hash, metadata) FROM STDIN`,
          chunk.map((r, j) => `${base + j}\tperiod.credit\t${r.key}\t${r.hash}\t${r.metadata}\n`).join(''),
        );
        await copyIn(
          client,
          `COPY "${schema}".bare_entries (transaction_id, account_id, amount) FROM STDIN`,
          chunk.flatMap((r, j) => r.entries.map((e) => `${base + j}\t${e.account}\t${e.amount}\n`)).join(''),
        );
        await client.query('COMMIT');
      }
      bareMs = performance.now() - t0;
    } finally {
      client.release();
    }
  }

  // 4. Hot account: concurrent single postings, all crediting one wallet (and debiting platform funding).
  let next = 0;
  t0 = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      const worker = new Ledger(db);
      for (let i = next++; i < HOT; i = next++) {
        await worker.creditEarnings({
          payeeId: 'hot-payee',
          amount: { amount: '1', currency: 'USD', scale: 2 },
          idempotencyKey: `hot:${i}`,
        });
      }
    }),
  );
  const hotMs = performance.now() - t0;
  const [hot] = await ledger.balances('hot-payee');
  if (hot?.available.amount !== String(HOT))
    throw new Error(`hot account balance ${hot?.available.amount} ≠ ${HOT}`);

  const report = await verifyLedger(db.em(), schema);
  const engine = embedded ? 'embedded PGlite' : 'PostgreSQL (DATABASE_URL)';
  console.log(`bench:ledger on ${engine}: N=${N} transfers (2 entries each), batch ${BATCH}`);
  console.log(`  ours   Ledger.postBatch        ${rate(N, oursMs)} transfers/s${secs(oursMs)}`);
  console.log(`  raw    multi-row INSERT        ${rate(N, rawMs)} transfers/s${secs(rawMs)}`);
  console.log(`  copy   COPY FROM STDIN         ${rate(N, copyMs)} transfers/s${secs(copyMs)}`);
  console.log(`  bare   COPY, no triggers/FKs   ${rate(N, bareMs)} transfers/s${secs(bareMs)}`);
  console.log(
    `  ratio  ours/COPY ${ratio(copyMs, oursMs)}   ours/INSERT ${ratio(rawMs, oursMs)}   (goal ≥ 0.30, ≥ 5,000 transfers/s)   ours/bare COPY ${ratio(bareMs, oursMs)}`,
  );
  console.log(
    `  hot    ${HOT} single postings on one wallet, ${WORKERS} concurrent: ${rate(HOT * 2, hotMs)} entries/s (goal ≥ 200)`,
  );
  console.log(
    `  verifyLedger: ${report.ok ? 'OK' : `${report.violations.length} violations`} (${report.counts.transactions} transactions)`,
  );
  if (!report.ok) process.exitCode = 1;
} finally {
  await sql(db.em(), `DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await db.close();
  await embedded?.stop();
}
