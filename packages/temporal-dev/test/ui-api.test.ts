// What Temporal UI asks of the server, against bin/temporal-dev (or the official CLI with
// TEMPORAL_CLI_PATH): the HTTP API (/api/v1/…, the requests the UI makes) with a real worker running
// real workflows, and the gRPC answers the UI depends on (cluster info, task queue pollers, page sizes).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Client,
  Connection,
  WorkflowFailedError,
  type WorkflowHandleWithFirstExecutionRunId as WorkflowHandle,
} from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { freePort, installQuietLogger, TEMPORAL_DEV_PATH } from '../src/testing.ts';
import * as activities from './activities.ts';
import { approval } from './workflows/basic.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/basic.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string) => Buffer.from(s).toString('base64');

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field
type Json = any;

describe('Temporal UI against temporal-dev', () => {
  let child: ChildProcess;
  let base: string;
  let connection: Connection;
  let native: NativeConnection;
  let client: Client;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `ui-${randomUUID()}`;
  const identity = `ui-test-worker-${process.pid}`;

  async function http(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    return { status: res.status, json: await res.json() };
  }
  const get = async (path: string) => {
    const res = await http('GET', path);
    expect(res).toMatchObject({ status: 200 });
    return res.json;
  };
  const post = async (path: string, body: unknown) => {
    const res = await http('POST', path, body);
    expect(res).toMatchObject({ status: 200 });
    return res.json;
  };
  const wf = (h: WorkflowHandle) =>
    `/api/v1/namespaces/default/workflows/${encodeURIComponent(h.workflowId)}`;
  const start = (name: string) =>
    client.workflow.start(approval, { taskQueue, workflowId: `ui-${randomUUID()}`, args: [name] });

  beforeAll(async () => {
    installQuietLogger();
    const [port, httpPort] = [await freePort(), await freePort()];
    const path = process.env.TEMPORAL_CLI_PATH || TEMPORAL_DEV_PATH;
    child = spawn(
      path,
      [
        'server',
        'start-dev',
        '--headless',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--http-port',
        String(httpPort),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    base = `http://127.0.0.1:${httpPort}`;
    // Readiness, not a timing check: waits as long as a loaded machine needs (the test timeout bounds it).
    const probe = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    await new Promise<void>((ok, fail) =>
      probe.waitForReady(Date.now() + 60_000, (e) => (e ? fail(e) : ok())),
    );
    probe.close();
    while (
      !(await fetch(`${base}/api/v1/system-info`).then(
        (r) => r.ok,
        () => false,
      ))
    )
      await sleep(50);
    connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    client = new Client({ connection });
    native = await NativeConnection.connect({ address: `127.0.0.1:${port}` });
    worker = await Worker.create({ connection: native, taskQueue, workflowsPath, activities, identity });
    running = worker.run();
  });

  afterAll(async () => {
    if (worker) {
      worker.shutdown();
      await running;
    }
    await native?.close();
    await connection?.close();
    child?.kill('SIGTERM');
  });

  describe('HTTP API', () => {
    it('answers the namespace, cluster and system requests the UI starts with', async () => {
      const namespaces = await get('/api/v1/namespaces');
      expect(namespaces.namespaces.map((n: Json) => n.namespaceInfo.name)).toContain('default');
      const ns = await get('/api/v1/namespaces/default?_=1'); // a parameter naming no field is ignored
      expect(ns.namespaceInfo).toMatchObject({ name: 'default', state: 'NAMESPACE_STATE_REGISTERED' });
      expect(ns.config.workflowExecutionRetentionTtl).toMatch(/^\d+s$/); // Duration as protobuf JSON
      const cluster = await get('/api/v1/cluster-info');
      expect(cluster.serverVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(typeof cluster.clusterId).toBe('string');
      const system = await get('/api/v1/system-info');
      expect(system.capabilities.countGroupByExecutionStatus).toBe(true);
      const attrs = await get('/api/v1/namespaces/default/search-attributes');
      expect(attrs.systemAttributes.TemporalNamespaceDivision).toBe('INDEXED_VALUE_TYPE_KEYWORD');
      expect(attrs.systemAttributes.StartTime).toBe('INDEXED_VALUE_TYPE_DATETIME');
      // The UI's schedule list counts by namespace division.
      const q = encodeURIComponent(
        'TemporalNamespaceDivision = "TemporalScheduler" AND ExecutionStatus = "Running"',
      );
      expect(await http('GET', `/api/v1/namespaces/default/workflow-count?query=${q}`)).toMatchObject({
        status: 200,
      });
    });

    it('shows, queries, signals, cancels and terminates workflows as the UI does', async () => {
      const [done, canceled, terminated] = [await start('Fay'), await start('Gus'), await start('Hal')];
      const execution = (h: WorkflowHandle) => ({ workflowId: h.workflowId, runId: h.firstExecutionRunId });

      // Query (payloads in the official "shorthand": a json/plain payload is its JSON value).
      const status = await post(`${wf(done)}/query/status`, { execution: execution(done), query: {} });
      expect(status.queryResult).toEqual(['waiting']); // a Payloads of shorthands: a bare array
      const stack = await post(`${wf(done)}/query/__stack_trace`, { execution: execution(done), query: {} });
      expect(stack.queryResult[0]).toMatch(/approval/);

      // The queue's workers, which the UI needs to enable the call stack.
      const wfPollers = await get(`/api/v1/namespaces/default/task-queues/${taskQueue}?taskQueueType=1`);
      expect(wfPollers.pollers.map((p: Json) => p.identity)).toContain(identity);
      const poller = wfPollers.pollers.find((p: Json) => p.identity === identity);
      expect(Date.parse(poller.lastAccessTime)).toBeGreaterThan(0);
      expect(poller.ratePerSecond).toBeGreaterThan(0);

      // Signal, cancel, terminate.
      await post(`${wf(done)}/signal/approve`, {
        workflowExecution: execution(done),
        input: ['gus'],
        identity: 'ui',
      });
      expect(await done.result()).toBe('Hello, Fay approved by gus');
      await post(`${wf(canceled)}/cancel`, {
        workflowExecution: execution(canceled),
        reason: 'ui',
        identity: 'ui',
      });
      await expect(canceled.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      await post(`${wf(terminated)}/terminate`, {
        workflowExecution: execution(terminated),
        reason: 'stop',
        identity: 'ui',
        // The standard payload form is read too.
        details: { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('"why"') }] },
      });
      await expect(terminated.result()).rejects.toBeInstanceOf(WorkflowFailedError);

      // Activity workers too, once the activity ran.
      const actPollers = await get(
        `/api/v1/namespaces/default/task-queues/${taskQueue}?taskQueueType=TASK_QUEUE_TYPE_ACTIVITY`,
      );
      expect(actPollers.pollers.map((p: Json) => p.identity)).toContain(identity);

      // Workflow list with a query, paged; count grouped by status.
      const query = encodeURIComponent(`TaskQueue = "${taskQueue}"`);
      const first = await get(`/api/v1/namespaces/default/workflows?query=${query}&pageSize=2`);
      expect(first.executions).toHaveLength(2);
      expect(first.nextPageToken).toEqual(expect.any(String));
      const second = await get(
        `/api/v1/namespaces/default/workflows?query=${query}&pageSize=2&nextPageToken=${encodeURIComponent(first.nextPageToken)}`,
      );
      expect(second.executions).toHaveLength(1);
      expect(second.nextPageToken).toBeUndefined();
      const listed = [...first.executions, ...second.executions];
      expect(listed.map((e: Json) => e.execution.workflowId).sort()).toEqual(
        [done, canceled, terminated].map((h) => h.workflowId).sort(),
      );
      const completed = await get(
        `/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Completed"`)}`,
      );
      expect(completed.executions.map((e: Json) => e.execution.workflowId)).toEqual([done.workflowId]);
      expect(completed.executions[0]).toMatchObject({
        type: { name: 'approval' },
        status: 'WORKFLOW_EXECUTION_STATUS_COMPLETED',
        taskQueue,
      });
      const count = await get(
        `/api/v1/namespaces/default/workflow-count?query=${encodeURIComponent(`TaskQueue = "${taskQueue}" GROUP BY ExecutionStatus`)}`,
      );
      expect(count.count).toBe('3'); // int64 as a string
      const groups = Object.fromEntries(count.groups.map((g: Json) => [g.groupValues[0], g.count]));
      expect(groups).toEqual({ Completed: '1', Canceled: '1', Terminated: '1' });

      // Describe.
      const described = await get(`${wf(terminated)}?execution.runId=${terminated.firstExecutionRunId}`);
      expect(described.workflowExecutionInfo).toMatchObject({
        execution: execution(terminated),
        status: 'WORKFLOW_EXECUTION_STATUS_TERMINATED',
      });
      const terminatedEvents = await get(`${wf(terminated)}/history-reverse?maximumPageSize=1`);
      expect(terminatedEvents.history.events[0].workflowExecutionTerminatedEventAttributes).toMatchObject({
        reason: 'stop',
        details: ['why'],
      });
      expect(described.workflowExecutionInfo.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      const info = (await get(`${wf(done)}?execution.runId=${done.firstExecutionRunId}`))
        .workflowExecutionInfo;
      const length = Number(info.historyLength);

      // History page by page, as the UI reads it.
      const events: Json[] = [];
      let token = '';
      do {
        const page = await get(
          `${wf(done)}/history?execution.runId=${done.firstExecutionRunId}&maximumPageSize=3${token ? `&nextPageToken=${encodeURIComponent(token)}` : ''}`,
        );
        expect(page.history.events.length).toBeLessThanOrEqual(3);
        events.push(...page.history.events);
        token = page.nextPageToken ?? '';
      } while (token);
      expect(events.map((e) => Number(e.eventId))).toEqual(Array.from({ length }, (_, i) => i + 1));
      expect(events[0].eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
      expect(events[0].workflowExecutionStartedEventAttributes.input).toEqual(['Fay']);
      expect(events.at(-1).eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
      // The standard encoding on request: payloads as metadata and base64 data.
      const full = await get(
        `${wf(done)}/history?execution.runId=${done.firstExecutionRunId}&noPayloadShorthand`,
      );
      expect(full.history.events[0].workflowExecutionStartedEventAttributes.input.payloads[0]).toEqual({
        metadata: { encoding: b64('json/plain') },
        data: b64('"Fay"'),
      });

      // Reverse history (the UI's "latest events first"), paged.
      const reverse: Json[] = [];
      token = '';
      do {
        const page = await get(
          `${wf(done)}/history-reverse?execution.runId=${done.firstExecutionRunId}&maximumPageSize=4${token ? `&nextPageToken=${encodeURIComponent(token)}` : ''}`,
        );
        expect(page.history.events.length).toBeLessThanOrEqual(4);
        reverse.push(...page.history.events);
        token = page.nextPageToken ?? '';
      } while (token);
      expect(reverse.map((e) => Number(e.eventId))).toEqual(Array.from({ length }, (_, i) => length - i));
    });

    it('answers errors as grpc-gateway does: HTTP status of the gRPC code, {code, message}', async () => {
      const missing = await http('GET', '/api/v1/namespaces/default/workflows/no-such-workflow');
      expect(missing).toMatchObject({ status: 404, json: { code: 5, message: expect.any(String) } });
      const bad = await http(
        'GET',
        `/api/v1/namespaces/default/workflows?query=${encodeURIComponent('NoSuchAttr = 1')}`,
      );
      expect(bad).toMatchObject({ status: 400, json: { code: 3 } });
    });

    it("routes the UI's activity actions to their handlers (no longer 501)", async () => {
      const h = await start('Ivy');
      const body = { execution: { workflowId: h.workflowId }, id: 'no-such-activity' };
      for (const action of ['pause', 'unpause', 'reset', 'update-options']) {
        const res = await http('POST', `/api/v1/namespaces/default/activities-deprecated/${action}`, {
          ...body,
          ...(action === 'update-options' ? { updateMask: 'startToCloseTimeout', activityOptions: {} } : {}),
        });
        expect([action, res]).toEqual([
          action,
          expect.objectContaining({ status: 404, json: expect.objectContaining({ code: 5 }) }),
        ]);
      }
      await h.terminate('done');
    });
  });

  describe('gRPC', () => {
    it('answers GetClusterInfo', async () => {
      const info = await connection.workflowService.getClusterInfo({});
      expect(info.serverVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(info.clusterId).toBeTruthy();
    });

    it('lists the pollers of a task queue with their identity and last access time', async () => {
      const h = await start('Ida');
      await h.query('status'); // a workflow task and a query ran: the worker has polled
      const res = await connection.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: taskQueue },
        taskQueueType: 1,
      });
      const poller = res.pollers?.find((p) => p.identity === identity);
      expect(poller?.lastAccessTime?.seconds).toBeTruthy();
      const withStatus = await connection.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: taskQueue },
        taskQueueType: 2,
        includeTaskQueueStatus: true,
      });
      expect(withStatus.taskQueueStatus).toBeTruthy();
      const enhanced = await connection.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: taskQueue },
        apiMode: 1, // DESCRIBE_TASK_QUEUE_MODE_ENHANCED
        reportPollers: true,
      });
      const types = enhanced.versionsInfo?.['']?.typesInfo ?? {};
      expect(types[1]?.pollers?.map((p) => p.identity)).toContain(identity);
      await h.terminate();
      const none = await connection.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: `nobody-${randomUUID()}` },
        taskQueueType: 1,
      });
      expect(none.pollers ?? []).toEqual([]);
    });

    it('honours pageSize and maximumPageSize', async () => {
      const hs = [await start('Jo'), await start('Kim'), await start('Lea')];
      const query = `WorkflowId IN (${hs.map((h) => `'${h.workflowId}'`).join(', ')})`;
      const page1 = await connection.workflowService.listWorkflowExecutions({
        namespace: 'default',
        query,
        pageSize: 2,
      });
      expect(page1.executions).toHaveLength(2);
      const page2 = await connection.workflowService.listWorkflowExecutions({
        namespace: 'default',
        query,
        pageSize: 2,
        nextPageToken: page1.nextPageToken,
      });
      expect(page2.executions).toHaveLength(1);
      expect(page2.nextPageToken?.length ?? 0).toBe(0);
      const h = hs[0]!;
      await h.query('status');
      const history = await connection.workflowService.getWorkflowExecutionHistory({
        namespace: 'default',
        execution: { workflowId: h.workflowId },
        maximumPageSize: 1,
      });
      expect(history.history?.events).toHaveLength(1);
      expect(history.nextPageToken?.length).toBeGreaterThan(0);
      for (const x of hs) await x.terminate();
    });
  });
});
