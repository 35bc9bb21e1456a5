// API keys at start-up: bootstrap keys from configuration, first-run keys for a fresh embedded install, and
// for any other install without keys the commands that create them.
// The process wiring itself is in src/app/runtime.ts.
import { createApiKey, storeApiKey } from '../auth/api-keys.ts';
import { enrollApproverTotp } from '../auth/approver-totp.ts';
import { ApiKey } from '../auth/entities.ts';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/open.ts';
import type { SecurityContext } from './app.ts';

/** Registers DISBURSE_BOOTSTRAP_API_KEYS (hashed); idempotent across restarts. */
export async function registerBootstrapKeys(config: Config, db: Database): Promise<string[]> {
  const out: string[] = [];
  for (const k of config.security.bootstrapApiKeys) {
    const stored = await storeApiKey(db.em(), k);
    out.push(`${stored.role}:${stored.actor} (key id ${stored.keyId})`);
  }
  return out;
}

export interface FirstRunKey {
  role: string;
  actor: string;
  key: string;
  totpUri?: string;
}

/**
 * For a fresh embedded install (`npm start` with nothing configured): when no API key exists at all, creates
 * one key per role (the approver with a TOTP secret) and returns them so the caller can print them once.
 * Returns [] when any key exists. Do not call in production (use DISBURSE_BOOTSTRAP_API_KEYS or the CLI).
 */
export async function createFirstRunKeys(db: Database, security: SecurityContext): Promise<FirstRunKey[]> {
  const em = db.em();
  if ((await em.count(ApiKey, {})) > 0) return [];
  const out: FirstRunKey[] = [];
  for (const [role, actor] of [
    ['platform', 'platform'],
    ['approver', 'approver'],
    ['operator', 'operator'],
  ] as const) {
    const k = await createApiKey(em, { role, actor });
    const entry: FirstRunKey = { role, actor, key: k.key };
    if (role === 'approver') {
      entry.totpUri = (
        await enrollApproverTotp(em, security.keyring, actor, { issuer: security.totpIssuer })
      ).otpauthUri;
    }
    out.push(entry);
  }
  return out;
}

/** One command per role, as `npm start` prints them when it creates no key itself. */
export const firstKeyCommands = [
  'npm run auth:create-key -- --role platform --actor platform',
  'npm run auth:create-key -- --role approver --actor approver --totp',
  'npm run auth:create-key -- --role operator --actor operator',
];

/**
 * When no API key exists and none is created automatically (DATABASE_URL set): how to create the first
 * ones. The CLI must reach the same database and, for the approver's TOTP secret, use the same encryption
 * keys as this process. Undefined once any key exists.
 */
export async function firstKeysHint(db: Database): Promise<string | undefined> {
  if ((await db.em().count(ApiKey, {})) > 0) return undefined;
  return [
    'No API key exists yet. Create the first ones (each key is printed once), from this directory and with',
    'the same DATABASE_URL, DATABASE_SCHEMA and DISBURSE_ENCRYPTION_KEYS as this process:',
    ...firstKeyCommands.map((c) => `    ${c}`),
  ].join('\n');
}
