// `npm start` (src/main.ts: API + worker in one process) with the default sandbox — no DISBURSE_PROVIDERS —
// against the time-skipping bin/temporal-dev: an instant and a scheduled payout both end `paid`, confirmed by
// the sandbox's signed webhook through the real provider webhook route, not by a status poll.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listSandboxDisbursements, parseProviderSettings } from '../../src/providers/index.ts';
import { freePort } from '../../src/temporal/embedded-server.ts';
import { type Stack, startStack } from '../support/stack.ts';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));

let stack: Stack;
let child: ChildProcess | undefined;
let output = '';
let api = '';

function startMain(env: Record<string, string>): Promise<void> {
  const proc = spawn(node, [main], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' });
  child = proc;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${output}`)), 240_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Disburse is running.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
}

function stopMain(): Promise<void> {
  return new Promise((resolve) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

/** POST /v1/payouts on the npm start process's API. */
async function requestPayout(payeeId: string, amount: string, instant: boolean): Promise<string> {
  const res = await fetch(`${api}/v1/payouts`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.keys.platform.key}`,
      'content-type': 'application/json',
      'idempotency-key': `k-${randomBytes(8).toString('hex')}`,
    },
    body: JSON.stringify({
      payeeId,
      amount: { amount, currency: 'USD', scale: 2 },
      method: 'bank_transfer',
      instant,
    }),
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`request payout: ${res.status} ${text}`);
  return JSON.parse(text).id as string;
}

/**
 * What confirmed the payout: what the sandbox answered at submit, the workflow's signals, and how many status
 * checks ran. `pending` at submit, one providerEvent signal and no status check = the webhook confirmed it.
 */
async function confirmation(payoutId: string) {
  const events = (await stack.handle(payoutId).fetchHistory()).events ?? [];
  const submits = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'submitToProvider')
      .map((e) => String(e.eventId)),
  );
  const submitted = events
    .map((e) => e.activityTaskCompletedEventAttributes)
    .filter((a) => a && submits.has(String(a.scheduledEventId)))
    .map((a) => JSON.parse(Buffer.from(a!.result!.payloads![0]!.data!).toString('utf8')).state);
  return {
    submitted,
    signals: events
      .map((e) => e.workflowExecutionSignaledEventAttributes?.signalName)
      .filter((name) => name !== undefined && name !== null),
    statusChecks: events.filter(
      (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkProviderStatus',
    ).length,
  };
}

beforeAll(async () => {
  stack = await startStack('npm_start_sandbox');
  await stack.stopWorker(); // only the npm start process runs payouts in this file
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  // The stack's own provider list and poll interval are dropped: npm start uses its default sandbox.
  const { DISBURSE_PROVIDERS: _providers, PAYOUT_CONFIRMATION_POLL: _poll, ...env } = stack.workerEnv();
  await startMain({
    ...env,
    API_PORT: String(port),
    // A status poll an hour away: within this test only the webhook can confirm a payout.
    PAYOUT_CONFIRMATION_POLL: '1h',
  });
}, 300_000);

afterAll(async () => {
  await stopMain();
  await stack?.close();
});

describe('npm start with the default sandbox', () => {
  it('is the default: one sandbox, batch rail every few seconds, no webhook url configured', () => {
    expect(parseProviderSettings('sandbox')).toEqual([
      {
        kind: 'sandbox',
        name: 'sandbox',
        scenario: {},
        capabilities: {},
        pollMs: 1000,
        batchIntervalMs: 5000,
      },
    ]);
  });

  it('an instant payout is confirmed by the sandbox webhook through the API', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await requestPayout(payeeId, '2500', true);
    const final = await stack.waitForState(payoutId, ['paid'], 60_000);
    expect(final.rail).toBe('instant');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([['sandbox', 'paid']]);
    expect(await confirmation(payoutId)).toEqual({
      submitted: ['pending'],
      signals: ['providerEvent'],
      statusChecks: 0,
    });
    const [event] = await stack.sandbox().events({ idempotencyKey: `${payoutId}:1` });
    expect(event).toMatchObject({ type: 'paid', attempts: 1 });
    expect(event?.deliveredAt).toBeInstanceOf(Date);
    await stack.assertInvariants();
  }, 90_000);

  it('a scheduled payout waits for its window, goes out on the batch rail and is confirmed by webhook', async () => {
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await requestPayout(payeeId, '4000', false);
    const scheduled = await stack.waitForState(payoutId, ['scheduled'], 60_000);
    expect(scheduled.nextTimer?.purpose).toBe('payout_window');
    // Skip virtual time to just past the window (the next status poll stays an hour beyond it).
    const untilWindow = Date.parse(scheduled.nextTimer!.at) - (await stack.temporal.currentTimeMs());
    await stack.temporal.sleep(Math.max(0, untilWindow) + 1000);
    // Real time from here: the sandbox's batch runs within seconds and POSTs payout.paid to the API.
    const final = await stack.waitForState(payoutId, ['paid'], 60_000);
    expect(final.rail).toBe('scheduled');
    expect(final.attempts.map((a) => [a.provider, a.outcome])).toEqual([['sandbox', 'paid']]);
    expect(await confirmation(payoutId)).toEqual({
      submitted: ['pending'],
      signals: ['providerEvent'],
      statusChecks: 0,
    });
    const rows = await listSandboxDisbursements(stack.db, { payoutId });
    expect(rows.map((r) => [r.rail, r.state])).toEqual([['batch', 'paid']]);
    const [event] = await stack.sandbox().events({ idempotencyKey: `${payoutId}:1` });
    expect(event?.deliveredAt).toBeInstanceOf(Date);
    expect(output).toContain('provider_webhook.received');
    expect(output).not.toMatch(/"level":"(error|warn)"/);
    await stack.assertInvariants();
  }, 120_000);
});
