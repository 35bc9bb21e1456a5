import { parseCli } from '../cli/args.ts';
import { loadConfig } from '../config/index.ts';
import { connectEmbeddedDatabase } from './embedded.ts';
import { migrate } from './migrate.ts';

/** `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded PGlite data dir. */
parseCli({
  usage: `usage: npm run migrate [-- --help]

Applies the pending database migrations and prints which ones ran.
  -h, --help   print this help and exit (nothing is migrated)

Environment:
  DATABASE_URL      PostgreSQL to migrate; unset = the embedded PGlite data directory
  DATABASE_SCHEMA   schema to migrate (default public)
  PGLITE_DATA_DIR   embedded data directory when DATABASE_URL is unset (default .data/pglite)`,
  options: {},
});
const config = loadConfig();
const embedded = config.database.url
  ? undefined
  : await connectEmbeddedDatabase({ dataDir: config.database.embeddedDataDir });
try {
  const url = config.database.url ?? embedded!.url;
  const applied = await migrate(url, config.database.schema);
  const where = embedded ? `embedded PGlite (${config.database.embeddedDataDir})` : 'DATABASE_URL';
  console.log(
    applied.length
      ? `Applied ${applied.length} migration(s) to ${where}, schema ${config.database.schema}: ${applied.join(', ')}`
      : `Database schema ${config.database.schema} on ${where} is up to date.`,
  );
} catch (error) {
  console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await embedded?.stop();
}
