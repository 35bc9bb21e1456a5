// `npm run auth:create-key -- --role platform --actor acme-backend [--totp]`
// Creates an API key (printed once; only its hash is stored). --totp (approvers) also enrolls a TOTP secret
// and prints the otpauth:// URI to scan into an authenticator app.
import { parseArgs } from 'node:util';
import { securityContextFromConfig } from '../api/dev-secrets.ts';
import { loadConfig } from '../config/index.ts';
import { startEmbeddedDatabase } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { openDatabase } from '../db/open.ts';
import { createApiKey } from './api-keys.ts';
import { enrollApproverTotp } from './approver-totp.ts';

const usage = 'usage: npm run auth:create-key -- --role platform|approver|operator --actor <name> [--totp]';
const { values } = parseArgs({
  options: { role: { type: 'string' }, actor: { type: 'string' }, totp: { type: 'boolean', default: false } },
});
if (!values.role || !values.actor) {
  console.error(usage);
  process.exit(2);
}
if (values.totp && values.role !== 'approver') {
  console.error('--totp is for approvers (approvals need a TOTP code)');
  process.exit(2);
}

const config = loadConfig();
const embedded = config.database.url
  ? undefined
  : await startEmbeddedDatabase({ dataDir: config.database.embeddedDataDir });
const db = await openDatabase({
  url: config.database.url ?? embedded!.url,
  schema: config.database.schema,
  poolMax: 1,
});
try {
  if (embedded) await migrateDatabase(db);
  const key = await createApiKey(db.em(), { role: values.role, actor: values.actor });
  console.log(`API key for ${key.actor} (${key.role}), shown once — store it now:\n${key.key}`);
  if (values.totp) {
    // Development secrets only for the embedded database; a real DATABASE_URL needs configured keys.
    const { security } = await securityContextFromConfig(config.security, { production: !embedded });
    const enrolment = await enrollApproverTotp(db.em(), security.keyring, key.actor, {
      issuer: security.totpIssuer,
    });
    console.log(`TOTP secret (base32): ${enrolment.secretBase32}\n${enrolment.otpauthUri}`);
  }
} catch (error) {
  console.error(`Could not create the key: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await db.close();
  await embedded?.stop();
}
