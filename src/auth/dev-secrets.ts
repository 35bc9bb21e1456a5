// Secrets for a fresh machine: when the security keys are not configured and we are not in production,
// generate them once and keep them in .data/dev-secrets.json (mode 0600) so `npm start` works out of the
// box and restarts can still decrypt. Callers allow this only when they run embedded (nothing external
// configured); production entry points pass `production: true` and must configure real keys.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecurityConfig } from '../config/security.ts';
import { keyringFromKeys } from '../crypto/index.ts';
import type { SecurityContext } from './security-context.ts';

interface DevSecretsFile {
  encryptionKey: string;
  fingerprintKey: string;
  tokenSigningKey: string;
}

/** Where `npm start` keeps generated development secrets (relative to the working directory). */
export const devSecretsPath = '.data/dev-secrets.json';

async function loadOrCreate(path: string): Promise<DevSecretsFile> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as DevSecretsFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const fresh: DevSecretsFile = {
      encryptionKey: randomBytes(32).toString('base64'),
      fingerprintKey: randomBytes(32).toString('base64'),
      tokenSigningKey: randomBytes(32).toString('base64'),
    };
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, JSON.stringify(fresh, null, 2), { mode: 0o600, flag: 'wx' }).catch(async (e) => {
      // Another process created it first: use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    });
    return JSON.parse(await readFile(path, 'utf8')) as DevSecretsFile;
  }
}

export async function securityContextFromConfig(
  config: SecurityConfig,
  opts: { production: boolean; devSecretsPath?: string },
): Promise<{ security: SecurityContext; usedDevSecrets: boolean }> {
  const missing = [
    !config.encryptionKeys && 'DISBURSE_ENCRYPTION_KEYS',
    !config.fingerprintKey && 'DISBURSE_FINGERPRINT_KEY',
    !config.tokenSigningKey && 'DISBURSE_TOKEN_SIGNING_KEY',
  ].filter((x): x is string => typeof x === 'string');
  let dev: DevSecretsFile | undefined;
  if (missing.length > 0) {
    if (opts.production) {
      throw new Error(`Set ${missing.join(', ')} (base64 of 32 random bytes each; see deploy/env.example)`);
    }
    dev = await loadOrCreate(opts.devSecretsPath ?? devSecretsPath);
  }
  return {
    usedDevSecrets: dev !== undefined,
    security: {
      keyring: config.encryptionKeys ?? keyringFromKeys([['dev', Buffer.from(dev!.encryptionKey, 'base64')]]),
      fingerprintKey: config.fingerprintKey ?? Buffer.from(dev!.fingerprintKey, 'base64'),
      tokenSigningKey: config.tokenSigningKey ?? Buffer.from(dev!.tokenSigningKey, 'base64'),
      payeeTokenTtlSeconds: config.payeeTokenTtlSeconds,
      payeeTokenMaxTtlSeconds: config.payeeTokenMaxTtlSeconds,
      totpIssuer: config.totpIssuer,
    },
  };
}
