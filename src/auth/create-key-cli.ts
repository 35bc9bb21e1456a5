// `npm run auth:create-key -- --role platform --actor acme-backend [--totp]`
// Creates an API key (printed once; only its hash is stored). --totp (approvers) also enrolls a TOTP secret
// and prints the otpauth:// URI to scan into an authenticator app. Everything it needs (arguments, the
// encryption keys for the TOTP secret) is checked before anything is written, and the key and its TOTP
// secret are stored in one transaction: a failure never leaves an approver without TOTP.

import { parseCli } from '../cli/args.ts';
import { loadConfig } from '../config/index.ts';
import type { Keyring } from '../crypto/index.ts';
import { openRuntimeDatabase } from '../db/runtime-database.ts';
import { checkRoleAndActor } from './api-keys.ts';
import { devSecretsPath } from './dev-secrets.ts';
import { issueApiKey, totpKeyring } from './issue-key.ts';

const cli = parseCli({
  usage: `usage: npm run auth:create-key -- --role platform|approver|operator --actor NAME [--totp]

Creates an API key and prints it once (only its hash is stored).
  --role ROLE    platform (server-to-server), approver (finance decisions) or operator
  --actor NAME   who the key belongs to: 1-100 letters, digits and . _ @ : -
  --totp         approvers only: also enroll a TOTP secret (approvals need a code) and print its
                 otpauth:// URI; needs the encryption keys the API runs with (see Environment)
  -h, --help     print this help and exit (nothing is created)

Environment:
  DATABASE_URL, DATABASE_SCHEMA   where keys are stored; unset = the embedded PGlite data directory
  DISBURSE_ENCRYPTION_KEYS        --totp encrypts the secret with these; unset = the development keys
                                  of npm start (${devSecretsPath}), which must exist with DATABASE_URL`,
  options: {
    role: { type: 'string' },
    actor: { type: 'string' },
    totp: { type: 'boolean', default: false },
  },
});
const role = cli.values.role ?? cli.fail('--role is required');
const actor = cli.values.actor ?? cli.fail('--actor is required');
const { totp } = cli.values;
try {
  checkRoleAndActor(role, actor);
} catch (error) {
  cli.fail((error as Error).message);
}
if (totp && role !== 'approver') cli.fail('--totp is for approvers (approvals need a TOTP code)');

const config = loadConfig();
let keyring: Keyring | undefined;
try {
  if (totp) keyring = await totpKeyring(config);
} catch (error) {
  console.error(`Nothing was created: ${(error as Error).message}`);
  process.exit(1);
}
// The running instance's embedded database through its endpoint, or the directory itself (migrated).
const database = await openRuntimeDatabase(config, { migrate: false });
const { db } = database;
try {
  const { key, enrolment } = await issueApiKey(db.em(), {
    role,
    actor,
    ...(keyring ? { totp: { keyring, issuer: config.security.totpIssuer } } : {}),
  });
  console.log(`API key for ${key.actor} (${key.role}), shown once — store it now:\n${key.key}`);
  if (enrolment) console.log(`TOTP secret (base32): ${enrolment.secretBase32}\n${enrolment.otpauthUri}`);
} catch (error) {
  console.error(`Could not create the key: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await database.close();
}
