// `npm run crypto:rotate`: after putting a new key first in DISBURSE_ENCRYPTION_KEYS, re-encrypts every
// destination, TIN and approver TOTP secret with it. Safe to re-run; prints how many envelopes moved.
import { securityContextFromConfig } from '../api/dev-secrets.ts';
import { loadConfig } from '../config/index.ts';
import { startEmbeddedDatabase } from '../db/embedded.ts';
import { openDatabase } from '../db/open.ts';
import { rotateEncryption } from './rotation.ts';

const config = loadConfig();
const embedded = config.database.url
  ? undefined
  : await startEmbeddedDatabase({ dataDir: config.database.embeddedDataDir });
const db = await openDatabase({
  url: config.database.url ?? embedded!.url,
  schema: config.database.schema,
  poolMax: 2,
});
try {
  const { security } = await securityContextFromConfig(config.security, { production: !embedded });
  const report = await rotateEncryption(db.em(), security.keyring);
  console.log(`Re-encrypted with key "${security.keyring.activeKid}": ${JSON.stringify(report)}`);
} catch (error) {
  console.error(`Rotation failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await db.close();
  await embedded?.stop();
}
