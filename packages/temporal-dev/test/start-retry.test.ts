// startTestServer (src/testing.ts), which createTestEnv starts every server with: a free port, readiness
// by probing instead of the SDK's fixed 5 s, one retry on a fresh port and cache directory, and the
// stderr tail of both attempts when neither starts. Launchers here are shell scripts standing in for a
// server that crashes or never answers; none of it depends on how fast the machine is.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { installQuietLogger, startTestServer, TEMPORAL_DEV_PATH } from '../src/testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'temporal-start-retry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let scripts = 0;
/** A launcher running `body` (sh); `$log` is a file it may append to. */
function launcher(body: string): { path: string; log: string } {
  const n = ++scripts;
  const path = join(dir, `launcher-${n}`);
  const log = join(dir, `launcher-${n}.log`);
  writeFileSync(path, `#!/bin/sh\nlog='${log}'\n${body}\n`);
  chmodSync(path, 0o755);
  return { path, log };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startTestServer', () => {
  it('retries once on a fresh port and cache directory when the first server dies, saying so', async () => {
    installQuietLogger();
    // First launch: dies at once as a server whose port was taken. Second: temporal-dev.
    const mark = join(dir, 'first-done');
    const { path, log } = launcher(
      [
        `echo "port=$4 cache=\${TEMPORAL_DEV_CACHE_DIR:-shared}" >> "$log"`,
        `if [ ! -e '${mark}' ]; then : > '${mark}'; echo 'listen EADDRINUSE' >&2; exit 1; fi`,
        `exec '${TEMPORAL_DEV_PATH}' "$@"`,
      ].join('\n'),
    );
    const warnings: string[] = [];
    const server = await startTestServer({ path, warn: (m) => warnings.push(m) });
    try {
      const [first, second] = readFileSync(log, 'utf8').trim().split('\n');
      expect(first).toMatch(/^port=\d+ cache=shared$/);
      const [, port2, cache2] = /^port=(\d+) cache=(.+)$/.exec(second!)!;
      expect(port2).not.toBe(/port=(\d+)/.exec(first!)![1]);
      expect(cache2).not.toBe('shared');
      expect(existsSync(cache2!)).toBe(true);
      expect(server.address).toBe(`127.0.0.1:${port2}`);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /dev server did not start \(exited with code 1 before answering\); retrying once/,
      );

      const env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address });
      try {
        const info = await env.connection.workflowService.getSystemInfo({});
        expect(info.capabilities?.sdkMetadata).toBe(true);
      } finally {
        await env.teardown();
      }
    } finally {
      await server.stop();
    }
    // The retry's private cache directory goes with its server.
    const cache2 = /cache=(.+)$/.exec(readFileSync(log, 'utf8').trim().split('\n')[1]!)![1]!;
    expect(existsSync(cache2)).toBe(false);
  }, 90_000);

  it('waits for a server slower than the SDK 5 s limit, by probing, without a retry', async () => {
    // Past the SDK's fixed 50 x 100 ms before it even starts to boot.
    const { path } = launcher(`sleep 6\nexec '${TEMPORAL_DEV_PATH}' "$@"`);
    const warnings: string[] = [];
    const server = await startTestServer({ path, warn: (m) => warnings.push(m), startTimeoutMs: 60_000 });
    try {
      expect(warnings).toEqual([]);
      const env = await TestWorkflowEnvironment.createFromExistingServer({ address: server.address });
      await env.teardown();
    } finally {
      await server.stop();
    }
  }, 90_000);

  it('reports the stderr tail of both attempts when neither starts', async () => {
    const { path, log } = launcher(
      `echo run >> "$log"\nn=$(wc -l < "$log" | tr -d ' ')\necho "booting attempt $n" >&2\necho "fatal: disk full ($n)" >&2\nexit 3`,
    );
    const warnings: string[] = [];
    const failure = await startTestServer({ path, warn: (m) => warnings.push(m) }).then(
      () => new Error('started'),
      (err: Error) => err,
    );
    expect(failure.message).toMatch(/dev server .* did not start in 2 attempts/);
    expect(failure.message).toMatch(
      /attempt 1 \(port \d+\): exited with code 3 before answering\n {2}stderr tail:\n {4}booting attempt 1\n {4}fatal: disk full \(1\)/,
    );
    expect(failure.message).toMatch(
      /attempt 2 \(port \d+\): exited with code 3[\s\S]*fatal: disk full \(2\)/,
    );
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(warnings).toHaveLength(1);
  }, 60_000);

  it('kills a server that never answers, and says what it printed', async () => {
    const { path, log } = launcher(`echo $$ >> "$log"\necho 'loading protos...' >&2\nexec sleep 120`);
    const failure = await startTestServer({ path, warn: () => {}, startTimeoutMs: 1_000 }).then(
      () => new Error('started'),
      (err: Error) => err,
    );
    expect(failure.message).toMatch(
      /attempt 1 \(port \d+\): did not answer on 127\.0\.0\.1:\d+ within 1000 ms/,
    );
    expect(failure.message).toMatch(/attempt 2 [\s\S]*loading protos\.\.\./);
    const pids = readFileSync(log, 'utf8').trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 60_000);

  it('stop() keeps the process alive until the server is gone: a top-level await of it settles', async () => {
    // The child is unreferenced so that it never keeps a test alive; stop() must hold the loop itself,
    // or Node ends a script awaiting it with "unsettled top-level await" and exit code 13.
    const testing = fileURLToPath(new URL('../src/testing.ts', import.meta.url));
    const script = join(dir, 'stop-at-top-level.mjs');
    writeFileSync(
      script,
      [
        `import { startTestServer, TEMPORAL_DEV_PATH } from ${JSON.stringify(testing)};`,
        'const server = await startTestServer({ path: TEMPORAL_DEV_PATH });',
        'await server.stop();',
        "console.log('stopped');",
      ].join('\n'),
    );
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, [script], (err, stdout, stderr) =>
        done({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
    expect(result.stderr).not.toMatch(/unsettled top-level await/);
    expect(result).toMatchObject({ code: 0, stdout: 'stopped\n' });
  }, 60_000);

  it('does not retry a launcher that cannot be run', async () => {
    const warnings: string[] = [];
    await expect(
      startTestServer({ path: join(dir, 'nowhere'), warn: (m) => warnings.push(m) }),
    ).rejects.toThrow(/could not start: could not run it: spawn .*nowhere ENOENT/);
    expect(warnings).toEqual([]);
  });
});
