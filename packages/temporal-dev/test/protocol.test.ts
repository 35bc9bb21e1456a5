// Process-level contract of bin/temporal-dev: readiness, UNIMPLEMENTED answers, flags, clean exit.

import { type ChildProcess, spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { freePort, TEMPORAL_DEV_PATH, usingOfficialServer } from '../src/testing.ts';

// Readiness deadline, not a timing check: generous so a loaded machine only waits longer.
async function waitReady(port: number): Promise<void> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + 30_000, (err) => (err ? reject(err) : resolve())),
    );
  } finally {
    client.close();
  }
}

// This file tests bin/temporal-dev itself, so it is skipped (with this reason in its title) when the
// suite runs against the official binaries.
const official = usingOfficialServer() || usingOfficialServer(true);
const describeOwn = official ? describe.skip : describe;

describeOwn(
  `bin/temporal-dev process contract${official ? ' (skipped: TEMPORAL_CLI_PATH/TEMPORAL_TEST_SERVER_PATH set)' : ''}`,
  () => {
    let child: ChildProcess;
    let port: number;
    let stderr = '';

    beforeAll(async () => {
      port = await freePort();
      child = spawn(
        TEMPORAL_DEV_PATH,
        [
          'server',
          'start-dev',
          '--port',
          String(port),
          '--namespace',
          'payouts',
          '--ip',
          '127.0.0.1',
          '--headless',
          // Flags of the official start-dev without meaning here: accepted, as written for it.
          '--ui-port',
          '0',
          '--log-format=pretty',
        ],
        { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      await waitReady(port);
    });

    afterAll(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    it("starts with the pinned node even without node_modules/.bin on PATH, with the official CLI's flags", () => {
      expect(child.exitCode).toBeNull();
      expect(stderr).not.toMatch(/unknown flag|usage:/);
    });

    it('answers GetSystemInfo with capabilities and UNIMPLEMENTED naming unsupported RPCs', async () => {
      const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      try {
        const info = await connection.workflowService.getSystemInfo({});
        expect(info.capabilities?.sdkMetadata).toBe(true);
        expect(info.capabilities?.internalErrorDifferentiation).toBe(true);
        const ns = await connection.workflowService.describeNamespace({ namespace: 'payouts' });
        expect(ns.namespaceInfo?.name).toBe('payouts');
        await expect(
          connection.workflowService.listWorkerDeployments({ namespace: 'payouts' }),
        ).rejects.toMatchObject({
          code: grpc.status.UNIMPLEMENTED,
          details: expect.stringMatching(/ListWorkerDeployments/),
        });
      } finally {
        await connection.close();
      }
    });

    it('releases long polls and exits cleanly on SIGTERM', async () => {
      const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
      const poll = connection.workflowService
        .pollWorkflowTaskQueue({ namespace: 'payouts', taskQueue: { name: 'nobody-starts-work-here' } })
        .then(
          () => 'released',
          () => 'released',
        );
      await connection.workflowService.startWorkflowExecution({
        namespace: 'payouts',
        workflowId: 'never-runs',
        workflowType: { name: 'nothing' },
        taskQueue: { name: 'no-worker' },
        requestId: 'r1',
      });
      const historyPoll = connection.workflowService
        .getWorkflowExecutionHistory({
          namespace: 'payouts',
          execution: { workflowId: 'never-runs' },
          waitNewEvent: true,
          historyEventFilterType: 2,
        })
        .then(
          () => 'released',
          () => 'released',
        );
      await new Promise((r) => setTimeout(r, 200));
      const code = await new Promise<number | null>((resolve) => {
        child.once('exit', (c) => resolve(c));
        child.kill('SIGTERM');
      });
      expect(code).toBe(0);
      expect(await Promise.all([poll, historyPoll])).toEqual(['released', 'released']);
      await connection.close();
    });

    // How fast it starts is measured by `npm run bench:engine`, not asserted here.
    it('starts in time-skipping mode and serves TestService', async () => {
      const p = await freePort();
      const ts = spawn(TEMPORAL_DEV_PATH, [String(p)], { stdio: 'ignore' });
      try {
        await waitReady(p);
        const client = new grpc.Client(`127.0.0.1:${p}`, grpc.credentials.createInsecure());
        try {
          const { GetCurrentTimeResponse } = temporal.api.testservice.v1;
          const reply = await new Promise<temporal.api.testservice.v1.GetCurrentTimeResponse>(
            (resolve, reject) =>
              client.makeUnaryRequest(
                '/temporal.api.testservice.v1.TestService/GetCurrentTime',
                () => Buffer.alloc(0),
                (b: Buffer) => GetCurrentTimeResponse.decode(b),
                {},
                (err, res) => (err || !res ? reject(err) : resolve(res)),
              ),
          );
          expect(String(reply.time?.seconds)).toMatch(/^[1-9]\d*$/); // a Long: seconds since the epoch
        } finally {
          client.close();
        }
      } finally {
        ts.kill('SIGTERM');
      }
    });
  },
);
