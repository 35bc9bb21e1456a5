// auth:create-key checks what it needs before it writes, and the first-keys hint of npm start names
// commands that work: run as printed against a database without keys, they create one key per role.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { firstKeyCommands, firstKeysHint } from '../../src/api/server.ts';
import { authenticateApiKey } from '../../src/auth/api-keys.ts';
import { verifyApproverTotp } from '../../src/auth/approver-totp.ts';
import { securityContextFromConfig } from '../../src/auth/dev-secrets.ts';
import { base32Decode, totp } from '../../src/auth/totp.ts';
import { loadConfig } from '../../src/config/index.ts';
import { sql } from '../../src/db/sql.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  db = await createTestDatabase('cli-create-key', { poolMax: 2 });
  // No DISBURSE_* keys at all: the situation of a first `npm start` with only DATABASE_URL set.
  env = { DATABASE_URL: process.env.DATABASE_URL, DATABASE_SCHEMA: db.schema };
});
afterAll(async () => {
  await db.drop();
});

async function counts() {
  const [row] = await sql<{ keys: string; totp: string }>(
    db.em(),
    `SELECT (SELECT count(*) FROM "${db.schema}".api_keys)::text AS keys,
            (SELECT count(*) FROM "${db.schema}".approver_totp)::text AS totp`,
  );
  return row;
}

describe('auth:create-key --totp', () => {
  it('without the encryption keys creates nothing and says what to set', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'create-key-'));
    const run = await runCli(
      'src/auth/create-key-cli.ts',
      ['--role', 'approver', '--actor', 'no-secrets', '--totp'],
      { env, cwd },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Nothing was created: .*set DISBURSE_ENCRYPTION_KEYS/);
    expect(run.stdout).not.toMatch(/dsb_/);
    expect(await counts()).toEqual({ keys: '0', totp: '0' });
    // Nor were development secrets generated for a database the CLI does not own.
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('first keys with DATABASE_URL set', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'first-keys-'));
  const devSecrets = join(cwd, '.data/dev-secrets.json');

  beforeAll(() => {
    // What `npm start` (DATABASE_URL, no TEMPORAL_ADDRESS, no keys) leaves in its working directory.
    mkdirSync(join(cwd, '.data'));
    const key = () => randomBytes(32).toString('base64');
    writeFileSync(
      devSecrets,
      JSON.stringify({ encryptionKey: key(), fingerprintKey: key(), tokenSigningKey: key() }),
    );
  });

  it('the hint lists one create-key command per role while no key exists', async () => {
    const hint = await firstKeysHint(db);
    for (const command of firstKeyCommands) expect(hint).toContain(command);
    expect(firstKeyCommands.map((c) => /--role (\w+)/.exec(c)?.[1])).toEqual([
      'platform',
      'approver',
      'operator',
    ]);
  });

  it.each(firstKeyCommands)('`%s` as printed creates a working key', async (command) => {
    const args = command.split(' -- ')[1]!.split(' ');
    const run = await runCli('src/auth/create-key-cli.ts', args, { env, cwd });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const key = /dsb_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(run.stdout)?.[0];
    const [, role, actor] = /--role (\w+) --actor (\w+)/.exec(command)!;
    expect(await authenticateApiKey(db.em(), key!)).toMatchObject({ role, actor });
    if (command.includes('--totp')) {
      // Encrypted with the development keys npm start uses here, so the API can check the approver's codes.
      const { security } = await securityContextFromConfig(loadConfig({}).security, {
        production: false,
        devSecretsPath: devSecrets,
      });
      const secret = base32Decode(/secret=([A-Z2-7]+)/.exec(run.stdout)![1]!);
      const code = totp(secret, Math.floor(Date.now() / 1000));
      expect(await verifyApproverTotp(db.em(), security.keyring, actor!, code)).toEqual({ ok: true });
    }
  });

  it('once keys exist there is no hint', async () => {
    expect(await counts()).toEqual({ keys: '3', totp: '1' });
    expect(await firstKeysHint(db)).toBeUndefined();
  });
});
