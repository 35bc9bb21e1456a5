// `npm run api`: the HTTP API alone (production entry point; migrations run separately with npm run migrate).
import { loadConfig } from '../config/index.ts';
import { startEmbeddedDatabase } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { createFirstRunKeys, startApiServer } from './server.ts';

const config = loadConfig();
const embedded = config.database.url
  ? undefined
  : await startEmbeddedDatabase({ dataDir: config.database.embeddedDataDir });
const db = await openDatabase({
  url: config.database.url ?? embedded!.url,
  schema: config.database.schema,
  poolMax: config.database.poolMax,
});
// The embedded database is this process's own: bring its schema up to date.
if (embedded) await migrateDatabase(db);
const api = await startApiServer(config, db);
console.log(`Disburse API on ${api.url} (OpenAPI: ${api.url}/openapi.json)`);
if (embedded) {
  // A fresh embedded install has no way to get a key while this process holds the database: print some.
  for (const k of await createFirstRunKeys(db, api.services.security)) {
    console.log(`  ${k.role} key (shown once): ${k.key}${k.totpUri ? `\n    TOTP: ${k.totpUri}` : ''}`);
  }
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await api.close();
    await db.close();
    await embedded?.stop();
    process.exit(0);
  });
}
