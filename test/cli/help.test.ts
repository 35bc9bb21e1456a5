// Every CLI answers --help / -h with its usage on stdout and does nothing else (no schema, no migration,
// no embedded data directory, no server); an unknown flag or a bad value prints the reason and the
// usage on stderr and exits 2, also without doing anything.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const clis = [
  { name: 'start', script: 'src/main.ts' },
  { name: 'api', script: 'src/api/main.ts' },
  { name: 'worker', script: 'src/worker/main.ts' },
  { name: 'migrate', script: 'src/db/migrate-cli.ts' },
  { name: 'ledger:verify', script: 'src/ledger/verify-cli.ts' },
  { name: 'auth:create-key', script: 'src/auth/create-key-cli.ts' },
  { name: 'auth:totp', script: 'src/auth/totp-cli.ts' },
  { name: 'crypto:rotate', script: 'src/payees/rotate-cli.ts' },
  { name: 'bench:engine', script: 'bench/engine.ts' },
  { name: 'bench:decisions', script: 'bench/decisions.ts' },
  { name: 'demo', script: 'src/demo/cli.ts' },
  { name: 'bench:ledger', script: 'bench/ledger.ts' },
  { name: 'bench:payouts', script: 'bench/payouts.ts' },
  { name: 'bench:period', script: 'bench/period.ts' },
  { name: 'temporal-dev', script: 'bin/temporal-dev' },
  { name: 'temporal-dev server start-dev', script: 'bin/temporal-dev', prefix: ['server', 'start-dev'] },
];

// A new npm script that runs a file must join the table above.
it('covers every npm script that runs a CLI', () => {
  const { scripts: npmScripts } = JSON.parse(
    readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  ) as {
    scripts: Record<string, string>;
  };
  const scripts = Object.values(npmScripts)
    .map((command) => /^(?:exec )?(?:node )?((?:src|bench|bin)\/\S+)$/.exec(command)?.[1])
    .filter((script): script is string => script !== undefined);
  expect(scripts.length).toBeGreaterThan(10);
  expect(scripts.filter((script) => !clis.some((c) => c.script === script))).toEqual([]);
});

let db: TestDatabase;
const work = mkdtempSync(join(tmpdir(), 'cli-help-'));

beforeAll(async () => {
  db = await createTestDatabase('cli-help', { poolMax: 2 });
});
afterAll(async () => {
  await db.drop();
});

/** A schema and an embedded data directory that do not exist: a CLI that runs would create them. */
function untouched() {
  const schema = `t_cli_untouched_${randomBytes(4).toString('hex')}`;
  const dataDir = join(work, schema);
  // Were a CLI to start anyway, its temporal-dev state stays in memory, not in the repository's .data.
  const common = { TEMPORAL_DEV_DB: 'memory' };
  return {
    schema,
    dataDir,
    withUrl: {
      ...common,
      DATABASE_URL: process.env.DATABASE_URL,
      DATABASE_SCHEMA: schema,
      PGLITE_DATA_DIR: dataDir,
    },
    embedded: { ...common, DATABASE_SCHEMA: schema, PGLITE_DATA_DIR: dataDir },
    async stillAbsent() {
      const rows = await sql<{ n: string }>(
        db.em(),
        'SELECT count(*)::text AS n FROM information_schema.schemata WHERE schema_name = $1',
        [schema],
      );
      expect(rows[0]!.n).toBe('0');
      expect(existsSync(dataDir)).toBe(false);
      // Nor development secrets or temporal-dev state in the working directory.
      expect(existsSync(join(work, '.data'))).toBe(false);
    },
  };
}

describe.each(clis)('$name', ({ script, prefix = [] }) => {
  it('--help and -h print the usage on stdout, exit 0 and do nothing else', async () => {
    const target = untouched();
    const runs = await Promise.all([
      runCli(script, [...prefix, '--help'], { env: target.withUrl, cwd: work }),
      runCli(script, [...prefix, '-h'], { env: target.embedded, cwd: work }),
    ]);
    for (const run of runs) {
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(/^usage: /);
    }
    expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
    await target.stillAbsent();
  });

  // (A stray argument is refused the same way: test/cli/args.test.ts.)
  it('an unknown flag: the reason and the usage on stderr, exit 2, nothing done', async () => {
    const target = untouched();
    const run = await runCli(script, [...prefix, '--no-such-flag'], { env: target.withUrl, cwd: work });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/--no-such-flag/);
    expect(run.stderr).toMatch(/^usage: /m);
    await target.stillAbsent();
  });
});

// Values are checked before anything runs, with the flag named.
it.each([
  ['bench/ledger.ts', ['--n', 'lots'], /--n must be an integer >= 1/],
  ['bench/ledger.ts', ['--workers', '0'], /--workers must be an integer >= 1/],
  ['bench/payouts.ts', ['--rate', 'fast'], /--rate must be a number/],
  ['bench/period.ts', ['--auto-payout-share', '2'], /--auto-payout-share must be a number/],
  ['bench/period.ts', ['--payees'], /--payees.*argument missing/],
  ['src/auth/create-key-cli.ts', ['--actor', 'a'], /--role is required/],
  ['src/auth/create-key-cli.ts', ['--role', 'boss', '--actor', 'a'], /role must be one of/],
  ['src/auth/create-key-cli.ts', ['--role', 'operator', '--actor', 'a b'], /actor must be/],
  ['src/auth/create-key-cli.ts', ['--role', 'operator', '--actor', 'a', '--totp'], /--totp is for approvers/],
  ['bin/temporal-dev', ['server', 'start-dev', '--port', 'x'], /invalid port "x"/],
  ['bin/temporal-dev', ['server', 'start-dev', '--search-attribute', 'A=Nope'], /A=Nope/],
  ['bin/temporal-dev', ['server', 'start-dev', '--ip'], /--ip needs a value/],
  ['bin/temporal-dev', ['70000'], /invalid port "70000"/],
  ['bin/temporal-dev', [], /no command given/],
])('%s %j: exit 2 naming the problem, with the usage', async (script, args, reason) => {
  const target = untouched();
  const run = await runCli(script, args, { env: target.withUrl, cwd: work });
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(reason);
  expect(run.stderr).toMatch(/^usage: /m);
  await target.stillAbsent();
});
