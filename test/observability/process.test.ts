// `node src/main.ts` (API + worker in one process) paying a payout: after its start-up banner every line
// it prints, stdout and stderr, is one JSON object (API, worker, SDK runtime, workflow and activity logs);
// its /metrics holds the worker's and the API's series in one registry; the SDK runtime's own
// Prometheus metrics are served at TEMPORAL_METRICS_BIND.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort } from '../../src/temporal/embedded-server.ts';
import { parseExposition, samples, value } from '../support/prometheus.ts';
import { type Stack, startStack } from '../support/stack.ts';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const node = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const BANNER_END = /Providers[^\n]*\n/;

let stack: Stack;
let child: ChildProcess | undefined;
let stdout = '';
let stderr = '';
let api = '';
let temporalMetrics = '';
let payoutId = '';
const requestId = `req-${randomBytes(6).toString('hex')}`;

function startMain(env: Record<string, string>): Promise<void> {
  const proc = spawn(node, [main], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' });
  child = proc;
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (BANNER_END.test(stdout)) resolve();
    });
    proc.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    proc.once('exit', (code) =>
      reject(new Error(`node src/main.ts exited with ${code}:\n${stdout}${stderr}`)),
    );
  });
}

/** The complete lines of a stream: a line still coming through the pipe is not read half-written. */
function completeLines(text: string): string[] {
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n');
}

/** Every line printed but the start-up banner (which is for people). */
function logLines(): string[] {
  const start = stdout.indexOf('Disburse is running.');
  const end = stdout.search(BANNER_END);
  const before = stdout.slice(0, start).split('\n');
  const after = completeLines(stdout.slice(end)).slice(1);
  return [...before, ...after, ...completeLines(stderr)].filter(Boolean);
}

function parsedLines(): Record<string, unknown>[] {
  return logLines().flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** The payout's workflow start and its submission's own (not the SDK's "Activity started") log lines. */
function payoutLines(entries: Record<string, unknown>[]) {
  const ofPayout = entries.filter((e) => e.payoutId === payoutId);
  return {
    started: ofPayout.some((e) => e.msg === 'Workflow started' && e.workflowType === 'payoutWorkflow'),
    activities: ofPayout.filter((e) => e.activityType && e.msg !== 'Activity started'),
  };
}

beforeAll(async () => {
  stack = await startStack('observability_process');
  await stack.stopWorker(); // only the spawned process runs payouts in this file
  const port = await freePort();
  api = `http://127.0.0.1:${port}`;
  temporalMetrics = `127.0.0.1:${await freePort()}`;
  await startMain({
    ...stack.workerEnv(),
    API_PORT: String(port),
    LOG_LEVEL: 'debug', // the SDK logs workflow and activity starts at debug
    TEMPORAL_METRICS_BIND: temporalMetrics,
  });
  const payee = await stack.createPayee({ credit: '50000' });
  const res = await fetch(`${api}/v1/payouts`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.keys.platform.key}`,
      'content-type': 'application/json',
      'idempotency-key': `k-${randomBytes(8).toString('hex')}`,
      'x-request-id': requestId,
    },
    body: JSON.stringify({
      payeeId: payee,
      amount: { amount: '700', currency: 'USD', scale: 2 },
      method: 'bank_transfer',
    }),
  });
  expect(res.status).toBe(202);
  payoutId = ((await res.json()) as { id: string }).id;
  expect((await stack.result(payoutId)).state).toBe('paid');
  // The workflow can finish before the child's last log lines have come through the pipe: wait for the
  // submission's activity line (bounded) rather than read a partial log.
  const arrived = () => {
    const { started, activities } = payoutLines(parsedLines());
    return started && activities.some((e) => e.activityType === 'submitToProvider');
  };
  for (let i = 0; i < 1800 && !arrived(); i++) await new Promise((r) => setTimeout(r, 50));
}, 240_000);

afterAll(async () => {
  const proc = child;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    await new Promise<void>((done) => {
      proc.once('exit', () => done());
      proc.kill('SIGTERM');
    });
  }
  await stack?.close();
});

describe('node src/main.ts observability', () => {
  it('prints only JSON lines besides its banner, stdout and stderr alike', () => {
    const lines = logLines();
    expect(lines.length).toBeGreaterThan(0);
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.some((e) => e.msg === 'request' && e.requestId === requestId)).toBe(true);
    // The SDK's own lines (worker state, bundle stats as one line) come through the same logger.
    expect(entries.filter((e) => e.msg === 'temporal.bundle.stats')).toHaveLength(1);
    // Workflow and activity logs name the payout; activity logs the request that started it (all but
    // the SDK's "Activity started", which it writes before any interceptor has read the headers).
    const { started, activities } = payoutLines(entries);
    expect(started).toBe(true);
    expect(activities.some((e) => e.activityType === 'submitToProvider')).toBe(true);
    expect(activities.filter((e) => e.requestId !== requestId)).toEqual([]);
  });

  it('serves worker and API series from one registry on the API', async () => {
    const res = await fetch(`${api}/metrics`);
    expect(res.status).toBe(200);
    const scraped = parseExposition(await res.text());
    expect(value(scraped, 'disburse_payout_transitions_total', { state: 'paid' })).toBe(1);
    expect(value(scraped, 'disburse_payout_paid_minor_units_total', { currency: 'USD' })).toBeGreaterThan(0);
    expect(
      value(scraped, 'disburse_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v1/payouts',
        status: '202',
      }),
    ).toBe(1);
  });

  it('exports the Temporal SDK runtime metrics to Prometheus', async () => {
    // The SDK updates its exporter on its own schedule: scrape until the series is there (bounded).
    let completed = 0;
    for (let i = 0; i < 300 && completed === 0; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`http://${temporalMetrics}/metrics`);
      expect(res.status).toBe(200);
      completed = samples(parseExposition(await res.text()), 'temporal_workflow_completed_total').length;
    }
    expect(completed).toBeGreaterThan(0);
  });
});
