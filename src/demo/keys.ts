// The demo's own API keys (platform, approver with TOTP, operator), created the way `npm run auth:create-key`
// creates them: in the running instance's database — through its embedded database endpoint when it runs on
// PGlite (never a second open of the data directory), or DATABASE_URL directly.
import { randomBytes } from 'node:crypto';
import { openRuntimeDatabase } from '../app/runtime.ts';
import { issueApiKey, totpKeyring } from '../auth/issue-key.ts';
import { base32Decode } from '../auth/totp.ts';
import type { Config } from '../config/index.ts';
import { DemoError } from './api.ts';

export interface DemoKeys {
  platform: { actor: string; key: string };
  operator: { actor: string; key: string };
  approver: { actor: string; key: string; secret: Buffer; otpauthUri: string };
}

export async function createDemoKeys(config: Config): Promise<DemoKeys> {
  try {
    return await create(config);
  } catch (error) {
    throw new DemoError(`could not create the demo keys: ${(error as Error).message}`);
  }
}

async function create(config: Config): Promise<DemoKeys> {
  // The keyring first: without it nothing is created (as in create-key).
  const keyring = await totpKeyring(config);
  const suffix = randomBytes(3).toString('hex');
  const database = await openRuntimeDatabase(config, { migrate: false });
  try {
    const em = () => database.db.em();
    const platform = await issueApiKey(em(), { role: 'platform', actor: `demo-platform-${suffix}` });
    const operator = await issueApiKey(em(), { role: 'operator', actor: `demo-operator-${suffix}` });
    const approver = await issueApiKey(em(), {
      role: 'approver',
      actor: `demo-approver-${suffix}`,
      totp: { keyring, issuer: config.security.totpIssuer },
    });
    const enrolment = approver.enrolment!;
    return {
      platform: { actor: platform.key.actor, key: platform.key.key },
      operator: { actor: operator.key.actor, key: operator.key.key },
      approver: {
        actor: approver.key.actor,
        key: approver.key.key,
        // What an authenticator app reads from the otpauth:// URI.
        secret: base32Decode(enrolment.secretBase32),
        otpauthUri: enrolment.otpauthUri,
      },
    };
  } finally {
    await database.close();
  }
}
