// Issue 13: with `npm start` on the embedded PGlite, a CLI run meanwhile opened a second copy of the data
// directory and a restart lost the writes made around it. The app now owns the directory and the CLIs go
// through its endpoint; this runs that sequence with real processes.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { type AppProcess, api, appEnv, newSecrets, node, repo, startApp, untilGone } from './app-process.ts';

const dir = await mkdtemp(join(tmpdir(), 'disburse-owner-'));
const secrets = newSecrets();
const started: AppProcess[] = [];

afterAll(async () => {
  for (const app of started) if (app.child.exitCode === null) app.child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function cli(script: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(node, [script, ...args], { cwd: repo, env: appEnv(dir, secrets) }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function registerAndCredit(app: AppProcess, key: string, name: string, amount: string) {
  const payee = await api(app, key, 'POST', '/v1/payees', {
    externalId: `owner-${name}`,
    name: `Payee ${name}`,
    email: `${name}@example.com`,
    country: 'US',
    defaultCurrency: 'USD',
  });
  expect(payee.status).toBe(201);
  const credit = await api(app, key, 'POST', `/v1/payees/${payee.body.id}/credits`, {
    amount: { amount, currency: 'USD', scale: 2 },
    reference: `credit-${name}`,
  });
  expect(credit.status).toBe(201);
  return payee.body.id as string;
}

async function available(app: AppProcess, key: string, payeeId: string): Promise<string> {
  const wallet = await api(app, key, 'GET', `/v1/payees/${payeeId}/wallet`);
  expect(wallet.status).toBe(200);
  return wallet.body.balances.find((b: { currency: string }) => b.currency === 'USD')?.available.amount;
}

async function stop(app: AppProcess): Promise<void> {
  app.child.kill('SIGTERM');
  expect((await app.exited).code).toBe(0);
  await untilGone(app.temporalDevPid);
}

describe('embedded database with npm start running', () => {
  it('keeps the writes made before, by and after CLIs run while it serves, across a restart', async () => {
    const first = await startApp(dir, secrets, { firstRun: true });
    started.push(first);
    const lock = JSON.parse(await readFile(join(dir, 'pglite', 'disburse.lock'), 'utf8'));
    expect(lock.pid).toBe(first.appPid);
    expect(lock.url).toMatch(/^postgres:\/\/.+:\d+\//);

    const bootKey = first.keys.platform!;
    const payeeA = await registerAndCredit(first, bootKey, 'a', '1250');

    const verify = await cli('src/ledger/verify-cli.ts');
    expect(verify.stderr).toBe('');
    expect(verify.stdout).toMatch(/^Ledger OK/);
    // A write made by a CLI lands in the running instance's database.
    const created = await cli('src/auth/create-key-cli.ts', ['--role', 'platform', '--actor', 'cli-made']);
    expect(created.code).toBe(0);
    const cliKey = /dsb_\S+/.exec(created.stdout)?.[0];
    expect(cliKey).toBeDefined();

    const payeeB = await registerAndCredit(first, cliKey!, 'b', '2500');
    expect(await available(first, cliKey!, payeeA)).toBe('1250');
    await stop(first);

    const second = await startApp(dir, secrets);
    started.push(second);
    expect(second.keys).toEqual({}); // not a first run: the keys made before are there
    expect(await available(second, cliKey!, payeeA)).toBe('1250');
    expect(await available(second, cliKey!, payeeB)).toBe('2500');
    const again = await cli('src/ledger/verify-cli.ts');
    expect(again.stdout).toMatch(/^Ledger OK/);
    await stop(second);
  }, 300_000);

  it('refuses a second npm start on the same data directory, naming the running one', async () => {
    const running = await startApp(dir, secrets);
    started.push(running);
    await expect(startApp(dir, secrets)).rejects.toThrow(
      new RegExp(`in use by process ${running.appPid} \\(node src/main.ts\\)`),
    );
    await stop(running);
  }, 300_000);
});
