import { parseCli } from '../cli/args.ts';
import { loadConfig } from '../config/index.ts';
import { connectEmbeddedDatabase } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { verifyLedger } from './verify.ts';

/** `npm run ledger:verify`: checks every ledger invariant; exits 1 naming each violation. */
parseCli({
  usage: `usage: npm run ledger:verify [-- --help]

Checks every ledger invariant (each transaction sums to zero per currency, each balance equals the sum
of its entries, no payee balance negative) and names each violation.
  -h, --help   print this help and exit (nothing is checked)

Exit status: 0 ledger OK, 1 invariant violations, 2 bad command line or the check could not run.

Environment:
  DATABASE_URL      PostgreSQL to check; unset = the embedded PGlite data directory
  DATABASE_SCHEMA   schema to check (default public)
  PGLITE_DATA_DIR   embedded data directory when DATABASE_URL is unset (default .data/pglite)`,
  options: {},
});
const { database } = loadConfig();
const embedded = database.url
  ? undefined
  : await connectEmbeddedDatabase({ dataDir: database.embeddedDataDir });
const url = database.url ?? embedded!.url;
try {
  await migrate(url, database.schema);
  const db = await openDatabase({ url, schema: database.schema, poolMax: 1 });
  try {
    const report = await verifyLedger(db.em(), database.schema);
    const { accounts, transactions, entries } = report.counts;
    if (report.ok) {
      console.log(
        `Ledger OK: ${transactions} transactions, ${entries} entries, ${accounts} accounts checked.`,
      );
    } else {
      console.error(`Ledger invariant violations (${report.violations.length}):`);
      for (const v of report.violations) console.error(`  [${v.check}] ${v.message}`);
      process.exitCode = 1;
    }
  } finally {
    await db.close();
  }
} catch (error) {
  console.error(`ledger:verify failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
} finally {
  await embedded?.stop();
}
