// API keys at start-up: bootstrap keys from configuration, and first-run keys for a fresh embedded install.
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
