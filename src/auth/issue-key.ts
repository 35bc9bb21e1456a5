// Issuing an API key from a command line (auth:create-key, the demo): the keyring its approver TOTP secret
// is encrypted with, and the key with its TOTP enrolment in one transaction.
import { existsSync } from 'node:fs';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config/index.ts';
import type { Keyring } from '../crypto/index.ts';
import { type CreatedApiKey, createApiKey } from './api-keys.ts';
import { enrollApproverTotp, type TotpEnrolment } from './approver-totp.ts';
import { devSecretsPath, securityContextFromConfig } from './dev-secrets.ts';

/**
 * The keyring the API decrypts TOTP secrets with. Development keys (src/auth/dev-secrets.ts) are what
 * npm start uses when none are configured; with DATABASE_URL they are only reused, never generated here,
 * since a server with configured keys could not read a secret encrypted with fresh ones.
 */
export async function totpKeyring(config: Config): Promise<Keyring> {
  if (config.security.encryptionKeys) return config.security.encryptionKeys;
  if (config.database.url && !existsSync(devSecretsPath)) {
    throw new Error(
      `--totp needs the encryption keys the API runs with: set DISBURSE_ENCRYPTION_KEYS to the API's value (kid:base64 of 32 random bytes; see deploy/env.example), or run from the directory where npm start keeps ${devSecretsPath}`,
    );
  }
  return (await securityContextFromConfig(config.security, { production: false })).security.keyring;
}

/**
 * Creates a key and, with `totp`, enrols its approver in the same transaction: a failure never leaves an
 * approver without TOTP.
 */
export async function issueApiKey(
  em: EntityManager,
  o: { role: string; actor: string; totp?: { keyring: Keyring; issuer: string; secret?: Buffer } },
): Promise<{ key: CreatedApiKey; enrolment: TotpEnrolment | undefined }> {
  return em.transactional(async (tx) => {
    const key = await createApiKey(tx, { role: o.role, actor: o.actor });
    const enrolment = o.totp
      ? await enrollApproverTotp(tx, o.totp.keyring, key.actor, {
          issuer: o.totp.issuer,
          ...(o.totp.secret ? { secret: o.totp.secret } : {}),
        })
      : undefined;
    return { key, enrolment };
  });
}
