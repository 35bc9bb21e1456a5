// `npm run crypto:rotate`: after putting a new key first in DISBURSE_ENCRYPTION_KEYS, re-encrypts every
// destination, TIN and approver TOTP secret with it. Safe to re-run; prints how many envelopes moved.
import { securityContextFromConfig } from '../auth/dev-secrets.ts';
import { parseCli } from '../cli/args.ts';
import { loadConfig } from '../config/index.ts';
import { openRuntimeDatabase } from '../db/runtime-database.ts';
import { rotateEncryption } from './rotation.ts';

parseCli({
  usage: `usage: npm run crypto:rotate [-- --help]

Re-encrypts every payee destination, TIN and approver TOTP secret with the first key of
DISBURSE_ENCRYPTION_KEYS (put the new key first, keep the old ones after it so they still decrypt).
Safe to re-run; prints how many envelopes moved.
  -h, --help   print this help and exit (nothing is re-encrypted)

Environment:
  DISBURSE_ENCRYPTION_KEYS        kid:base64key[,kid:base64key…]
  DISBURSE_FINGERPRINT_KEY, DISBURSE_TOKEN_SIGNING_KEY
                                  all three required with DATABASE_URL (see deploy/env.example);
                                  unset with the embedded database = the development keys of npm start
  DATABASE_URL, DATABASE_SCHEMA   the database; unset = the embedded PGlite data directory`,
  options: {},
});
const config = loadConfig();
const database = await openRuntimeDatabase(config, { migrate: false });
const { db } = database;
try {
  const { security } = await securityContextFromConfig(config.security, { production: !database.embedded });
  const report = await rotateEncryption(db.em(), security.keyring);
  console.log(`Re-encrypted with key "${security.keyring.activeKid}": ${JSON.stringify(report)}`);
} catch (error) {
  console.error(`Rotation failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await database.close();
}
