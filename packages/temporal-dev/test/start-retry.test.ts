// createTestEnv's one retry of a server start that misses the SDK's fixed 5 s limit (src/testing.ts).
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, jest } from '@jest/globals';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { installQuietLogger, retryStartOnce, TEMPORAL_DEV_PATH } from '../src/testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'temporal-start-retry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  jest.restoreAllMocks();
});

describe('retryStartOnce', () => {
  it('starts again once, saying so, when the first server never answers', async () => {
    installQuietLogger();
    // First launch: a process that never listens (the SDK kills it after 5 s). Second: bin/temporal-dev.
    const mark = join(dir, 'first-launch-done');
    const launcher = join(dir, 'never-then-temporal-dev');
    writeFileSync(
      launcher,
      `#!/bin/sh\nif [ ! -e '${mark}' ]; then : > '${mark}'; exec sleep 60; fi\nexec '${TEMPORAL_DEV_PATH}' "$@"\n`,
    );
    chmodSync(launcher, 0o755);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    let attempts = 0;
    const env = await retryStartOnce('dev server', () => {
      attempts++;
      return TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'existing-path', path: launcher } },
      });
    });
    try {
      expect(attempts).toBe(2);
      expect(existsSync(mark)).toBe(true);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(
        /dev server missed the SDK's 5 s start limit.*retrying once/,
      );
      const info = await env.connection.workflowService.getSystemInfo({});
      expect(info.capabilities?.sdkMetadata).toBe(true);
    } finally {
      await env.teardown();
    }
  }, 60_000);

  it('does not retry other failures', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    let attempts = 0;
    await expect(
      retryStartOnce('dev server', async () => {
        attempts++;
        throw new Error('ephemeral server executable does not exist: /nowhere');
      }),
    ).rejects.toThrow(/does not exist/);
    expect(attempts).toBe(1);
    expect(warn).not.toHaveBeenCalled();
  });
});
