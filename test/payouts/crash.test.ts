// A worker process killed (SIGKILL) in the middle of payouts; a new worker process finishes them. Each payout
// is disbursed exactly once and the ledger stays consistent.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listSandboxDisbursements } from '../../src/providers/index.ts';
import { type Stack, startStack } from '../support/stack.ts';

const workerMain = fileURLToPath(new URL('../../src/worker/main.ts', import.meta.url));
const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));

const children = new Set<ChildProcess>();

function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(node, [workerMain], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' });
  children.add(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker.started')) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${output}`));
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    // Already gone (an exit code, or killed by a signal): its 'exit' event has fired.
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('worker crash mid-payout', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('crash');
    await stack.stopWorker(); // only separate worker processes run payouts in this file
  });
  afterAll(async () => {
    // Whatever happened in a test, no worker process outlives this file.
    await Promise.all([...children].map(kill));
    await stack?.close();
  });

  it('a new worker resumes a payout left waiting for provider confirmation', async () => {
    const env = stack.workerEnv({
      DISBURSE_PROVIDERS: JSON.stringify([
        { kind: 'sandbox', name: 'sandbox', scenario: { instantConfirmation: 'webhook', latencyMs: 0 } },
      ]),
    });
    const first = await startWorkerProcess(env);
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '4000');
    await stack.waitForState(payoutId, ['awaiting_confirmation'], 60_000);
    await kill(first);

    const second = await startWorkerProcess(env);
    try {
      // The provider's status now says paid; the new worker replays the history and finishes the payout.
      await stack.sandbox().advance();
      // Virtual time stays locked: the new worker's status poll (1 min) is skipped by a test-server sleep,
      // and the payout must reach `paid` (settled in the ledger), where its workflow ends.
      await stack.temporal.sleep(2 * 60_000);
      const final = await stack.waitForState(payoutId, ['paid'], 90_000);
      expect(final.state).toBe('paid');
      const rows = await listSandboxDisbursements(stack.db, { payoutId });
      expect(rows).toHaveLength(1);
      expect(rows[0]?.state).toBe('paid');
      await stack.assertInvariants();
    } finally {
      await kill(second);
    }
  }, 120_000);

  it('a submission cut off by the crash is retried with the same key: disbursed exactly once', async () => {
    // Every submit takes 4 s, so the first worker dies while the request is in flight.
    const env = stack.workerEnv({
      DISBURSE_PROVIDERS: JSON.stringify([
        { kind: 'sandbox', name: 'sandbox', scenario: { latencyMs: 4000 } },
      ]),
    });
    const first = await startWorkerProcess(env);
    const payeeId = await stack.createPayee({ credit: '10000' });
    const payoutId = await stack.requestPayout(payeeId, '4000');
    await stack.waitForState(payoutId, ['submitting'], 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    await kill(first);

    const second = await startWorkerProcess(env);
    try {
      // The server times the lost attempt out (start-to-close 60 s, real time: an activity is in flight)
      // and the new worker retries it with the same idempotency key.
      const final = await stack.waitForState(payoutId, ['paid'], 150_000);
      expect(final.state).toBe('paid');
      expect(final.attempts).toHaveLength(1);
      const rows = await listSandboxDisbursements(stack.db, { payoutId });
      expect(rows.map((r) => [r.idempotencyKey, r.state])).toEqual([[`${payoutId}:1`, 'paid']]);
      await stack.assertInvariants();
    } finally {
      await kill(second);
    }
  }, 180_000);
});
