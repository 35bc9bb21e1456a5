// `npm run demo` as a user runs it: the real `node src/main.ts` as a child process (embedded temporal-dev,
// the default sandbox), then the demo CLI as another process against its API. On the embedded PGlite (the
// demo's keys go through the running owner's database endpoint) and on PostgreSQL (DATABASE_URL directly).
// The demo must exit 0 with three payouts paid and their histories printed. Real time: the scheduled payout
// waits for its payout window (PAYOUT_WINDOW_EVERY=1m).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { diagnose } from '../../src/demo/follow.ts';
import { type AppProcess, appEnv, newSecrets, node, repo, startApp } from '../app/app-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const started: AppProcess[] = [];
const dirs: string[] = [];
const databases: TestDatabase[] = [];

afterAll(async () => {
  for (const app of started) if (app.child.exitCode === null) app.child.kill('SIGKILL');
  for (const db of databases) await db.drop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** The demo CLI as a child process with `env` only (plus PATH/HOME); its exit code and output. */
function runDemo(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
    const child = spawn(node, ['src/demo/cli.ts', ...args], {
      cwd: repo,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

async function journey(extraEnv: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'disburse-demo-'));
  dirs.push(dir);
  const secrets = newSecrets();
  const app = await startApp(dir, secrets, { env: extraEnv, firstRun: !extraEnv.DATABASE_URL });
  started.push(app);
  try {
    // The demo sees the same environment as the app (its database, its encryption keys).
    const env = { ...appEnv(dir, secrets), ...extraEnv };
    const demo = await runDemo(['--api', app.apiUrl, '--wait', '300'], env);
    return { demo, app };
  } finally {
    app.child.kill('SIGTERM');
    await app.exited;
  }
}

function expectThreePaid(out: { code: number | null; stdout: string; stderr: string }) {
  if (out.code !== 0) throw new Error(`demo exited ${out.code}:\n${out.stdout}\n${out.stderr}`);
  const { stdout } = out;
  const ids = [...stdout.matchAll(/^ {3}payout (po_[a-z0-9]+)$/gm)].map((m) => m[1]!);
  expect(ids).toHaveLength(3);
  // Each payout reaches paid; the scheduled one through its window, the large one after the approval.
  expect(
    stdout.match(/ paid — fee USD [\d,.]+, withholding USD 0\.00, rail \w+, provider sandbox/g),
  ).toHaveLength(3);
  expect(stdout).toMatch(/ paid — fee USD 5\.25, withholding USD 0\.00, rail instant/);
  expect(stdout).toMatch(/scheduled — payout_window at \d{4}-/);
  expect(stdout).toMatch(/pending_approval — needs 1 approver/);
  expect(stdout).toMatch(/approving as demo-approver-\w+ with TOTP code \d{6}/);
  expect(stdout).toMatch(/rail scheduled, provider sandbox/);
  // A history per payout, from the API.
  for (const id of ids) {
    expect(stdout).toContain(`payout ${id} (workflow payout-${id}):`);
  }
  expect(stdout.match(/^ +1 {2}WorkflowExecutionStarted {2}payoutWorkflow$/gm)).toHaveLength(3);
  expect(stdout).toMatch(/WorkflowExecutionUpdateAccepted {2}decideApproval/);
  expect(stdout).toMatch(/ActivityTaskCompleted {2}submitToProvider/);
  expect(stdout).toContain(
    `Done: 3 payouts paid (instant ${ids[0]}, scheduled ${ids[1]}, approved ${ids[2]})`,
  );
}

describe('npm run demo against npm start', () => {
  it('on the embedded PGlite: three payouts paid and their histories', async () => {
    const { demo } = await journey({});
    expectThreePaid(demo);
  }, 420_000);

  it('with DATABASE_URL (the database of the test run): the same, trial settings given explicitly', async () => {
    const db = await createTestDatabase('demo_pg');
    databases.push(db);
    const { demo } = await journey({
      DATABASE_URL: process.env.DATABASE_URL!,
      DATABASE_SCHEMA: db.schema,
      // With DATABASE_URL the embedded trial defaults do not apply (src/config/trial.ts).
      PAYOUT_WINDOW_EVERY: '1m',
      RISK_DESTINATION_COOL_OFF: '0s',
    });
    expectThreePaid(demo);
  }, 420_000);
});

describe('npm run demo against an instance with production risk settings', () => {
  it('stops at the first payout held by a risk rule, exit 1, naming the setting', async () => {
    const { demo } = await journey({ RISK_DESTINATION_COOL_OFF: '72h' });
    expect(demo.code).toBe(1);
    expect(demo.stdout).toMatch(/pending_approval — needs 1 approver\(s\): destination_cool_off/);
    expect(demo.stderr).toMatch(
      /Demo stopped: payout po_\w+ held for approval by the risk rules \(destination_cool_off: .+\)\. Setting: RISK_DESTINATION_COOL_OFF .*RISK_DESTINATION_COOL_OFF=0s/,
    );
    expect(demo.stdout).not.toContain('Done:');
  }, 420_000);
});

describe('the demo says which setting holds a payout', () => {
  const payout = (p: Record<string, unknown>) => ({ id: 'po_00000000', reasons: [], ...p });

  it.each([
    ['destination_cool_off', 'RISK_DESTINATION_COOL_OFF=0s'],
    ['velocity_count', 'RISK_MAX_DAILY_COUNT'],
    ['velocity_amount', 'RISK_MAX_DAILY_AMOUNT'],
    ['destination_shared', 'RISK_MAX_SHARED_DESTINATION_PAYEES'],
    ['amount_anomaly', 'RISK_ANOMALY_MULTIPLE'],
  ])('risk reason %s → %s', (code, setting) => {
    const held = payout({ state: 'pending_approval', reasons: [{ code, message: 'flagged' }] });
    const why = diagnose(held, { approvalExpected: false });
    expect(why).toContain(`${code}: flagged`);
    expect(why).toContain(setting);
    // The payout meant for approval is not "held": the demo approves it.
    expect(diagnose(held, { approvalExpected: true })).toBe('');
  });

  it('a payout window far away → PAYOUT_WINDOW_EVERY; compliance and unknown outcomes → the operator action', () => {
    expect(
      diagnose(
        payout({ state: 'scheduled', nextTimer: { purpose: 'payout_window', at: '2030-01-02T17:00:00Z' } }),
        {
          approvalExpected: false,
        },
      ),
    ).toContain('PAYOUT_WINDOW_EVERY=1m');
    expect(
      diagnose(payout({ state: 'compliance_hold', reasons: [{ code: 'kyc_not_verified', message: 'x' }] }), {
        approvalExpected: false,
      }),
    ).toContain('/compliance-clear');
    expect(diagnose(payout({ state: 'unknown_outcome' }), { approvalExpected: false })).toContain('/resolve');
    expect(diagnose(payout({ state: 'paid' }), { approvalExpected: false })).toBe('');
    expect(
      diagnose(payout({ state: 'failed', reasons: [{ code: 'no_provider', message: 'none' }] }), {
        approvalExpected: false,
      }),
    ).toContain('ended failed (no_provider: none)');
  });
});
