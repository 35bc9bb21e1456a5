// Issue #3: queries to an idle workflow after a worker restart in the same process. Whatever the
// departed worker left behind (a sticky queue, a workflow task it never completed, stickiness set after
// it announced its shutdown), a new worker on the same task queue must answer queries promptly.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WorkflowHandle } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import {
  bundleWorkflowCode,
  NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import { createTestEnv, quietBundlerLogger, usingOfficialServer } from '../src/testing.ts';
import * as activities from './activities.ts';
import { approval, approve, status } from './workflows/basic.ts';

const workflowsPath = fileURLToPath(new URL('./workflows/basic.ts', import.meta.url));

// Generous: a query normally takes milliseconds; the defects this guards against made it take 30 s or
// forever. Where a timeout has to pass first (a lost task, a vanished sticky worker) it is 2–3 s.
const PROMPT_MS = 15_000;

const NORMAL = 1;
const STICKY = 2;

/** Rejects if the query is not answered within PROMPT_MS. */
async function queryPromptly(h: WorkflowHandle<typeof approval>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`query not answered within ${PROMPT_MS} ms`)), PROMPT_MS);
  });
  try {
    return await Promise.race([h.query(status), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe.each([false, true])(
  'temporal-dev worker restart in one process (timeSkipping=%s)',
  (timeSkipping) => {
    let env: TestWorkflowEnvironment;
    let bundle: WorkflowBundleWithSourceMap;
    // The raw-protocol cases script a worker by hand; they test bin/temporal-dev itself.
    const itOwn = usingOfficialServer(timeSkipping) ? it.skip : it;

    beforeAll(async () => {
      env = await createTestEnv({ timeSkipping });
      bundle = await bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
    });

    afterAll(async () => {
      await env?.teardown();
    });

    /** A fresh SDK worker on its own connection, as after an in-process restart. */
    async function startWorker(taskQueue: string): Promise<{ stop(): Promise<void> }> {
      const connection = await NativeConnection.connect({ address: env.address });
      const worker = await Worker.create({ connection, taskQueue, workflowBundle: bundle, activities });
      const running = worker.run();
      return {
        async stop() {
          worker.shutdown();
          await running;
          await connection.close();
        },
      };
    }

    /** Worker B on the same task queue: queries answer promptly, then it finishes the workflow. */
    async function finishWithNewWorker(taskQueue: string, h: WorkflowHandle<typeof approval>) {
      const worker = await startWorker(taskQueue);
      try {
        for (let i = 0; i < 3; i++) expect(await queryPromptly(h)).toBe('waiting');
        await h.signal(approve, 'Rex');
        expect(await h.result()).toBe('Hello, Ivy approved by Rex');
      } finally {
        await worker.stop();
      }
    }

    function start(taskQueue: string, opts: { workflowTaskTimeout?: string } = {}) {
      return env.client.workflow.start(approval, {
        taskQueue,
        workflowId: `restart-${randomUUID()}`,
        args: ['Ivy'],
        ...opts,
      });
    }

    it('answers queries to an idle workflow promptly after each graceful restart', async () => {
      const taskQueue = `restart-${randomUUID()}`;
      let worker = await startWorker(taskQueue);
      const h = await start(taskQueue);
      try {
        expect(await queryPromptly(h)).toBe('waiting');
        for (let restart = 0; restart < 3; restart++) {
          await worker.stop();
          worker = await startWorker(taskQueue);
          for (let i = 0; i < 3; i++) expect(await queryPromptly(h)).toBe('waiting');
        }
        await h.signal(approve, 'Rex');
        expect(await h.result()).toBe('Hello, Ivy approved by Rex');
      } finally {
        await worker.stop();
      }
    });

    /** Worker A by hand: takes the first workflow task and completes it with stickiness. */
    async function firstTaskBy(
      taskQueue: string,
      h: WorkflowHandle,
      sticky: string,
      scheduleToStartS: number,
    ) {
      const svc = env.connection.workflowService;
      const namespace = env.namespace ?? 'default';
      const task = await svc.pollWorkflowTaskQueue({
        namespace,
        taskQueue: { name: taskQueue, kind: NORMAL },
        identity: 'worker-a',
      });
      expect(task.workflowExecution?.workflowId).toBe(h.workflowId);
      // No commands: the workflow only sets handlers and waits, which is what the SDK will replay.
      const complete = () =>
        svc.respondWorkflowTaskCompleted({
          namespace,
          taskToken: task.taskToken,
          identity: 'worker-a',
          commands: [],
          stickyAttributes: {
            workerTaskQueue: { name: sticky, kind: STICKY, normalName: taskQueue },
            scheduleToStartTimeout: msToTs(`${scheduleToStartS}s`),
          },
        });
      return { svc, namespace, complete };
    }

    itOwn('times out a sticky workflow task its worker took and lost, then answers queries', async () => {
      const taskQueue = `lost-${randomUUID()}`;
      const sticky = `${taskQueue}-sticky-a`;
      const h = await start(taskQueue, { workflowTaskTimeout: '2s' });
      const { svc, namespace, complete } = await firstTaskBy(taskQueue, h, sticky, 60);
      await complete();
      // Worker A waits on its sticky queue, so the next task is handed over inside the signal's call...
      const held = svc.pollWorkflowTaskQueue({
        namespace,
        taskQueue: { name: sticky, kind: STICKY, normalName: taskQueue },
        identity: 'worker-a',
      });
      await new Promise((r) => setTimeout(r, 500)); // let the poll arrive first
      await h.signal('unhandled-ping');
      expect((await held).workflowExecution?.workflowId).toBe(h.workflowId);
      // ...and A disappears holding it. The task must time out (2 s) and move to the normal queue.
      await finishWithNewWorker(taskQueue, h);
    });

    itOwn('ignores stickiness to a queue whose worker already announced its shutdown', async () => {
      const taskQueue = `late-sticky-${randomUUID()}`;
      const sticky = `${taskQueue}-sticky-a`;
      const h = await start(taskQueue);
      const { svc, namespace, complete } = await firstTaskBy(taskQueue, h, sticky, 60);
      // The SDK calls ShutdownWorker first and then finishes the tasks it holds, still naming its
      // sticky queue: nobody will poll that queue again, so it must not receive queries or tasks.
      await svc.shutdownWorker({ namespace, stickyTaskQueue: sticky, identity: 'worker-a' });
      await complete();
      await finishWithNewWorker(taskQueue, h);
    });

    itOwn(
      'moves a query waiting on a sticky queue to the normal queue when its worker shuts down',
      async () => {
        const taskQueue = `waiting-query-${randomUUID()}`;
        const sticky = `${taskQueue}-sticky-a`;
        const h = await start(taskQueue);
        const { svc, namespace, complete } = await firstTaskBy(taskQueue, h, sticky, 60);
        await complete();
        const worker = await startWorker(taskQueue);
        try {
          // The query goes to A's sticky queue (60 s schedule-to-start); A then shuts down without taking it.
          const answer = queryPromptly(h);
          await new Promise((r) => setTimeout(r, 500)); // let the query arrive first
          await svc.shutdownWorker({ namespace, stickyTaskQueue: sticky, identity: 'worker-a' });
          expect(await answer).toBe('waiting');
        } finally {
          await worker.stop();
        }
      },
    );

    itOwn(
      'completes a shutting-down worker’s open polls, so the SDK need not drop them and lose tasks',
      async () => {
        const svc = env.connection.workflowService;
        const namespace = env.namespace ?? 'default';
        const described = await svc.describeNamespace({ namespace });
        expect(described.namespaceInfo?.capabilities?.workerPollCompleteOnShutdown).toBe(true);
        const taskQueue = `graceful-${randomUUID()}`;
        const workerInstanceKey = randomUUID();
        const poll = () =>
          svc.pollWorkflowTaskQueue({
            namespace,
            taskQueue: { name: taskQueue, kind: NORMAL },
            workerInstanceKey,
          });
        const open = poll();
        const activityPoll = svc.pollActivityTaskQueue({
          namespace,
          taskQueue: { name: taskQueue },
          workerInstanceKey,
        });
        await new Promise((r) => setTimeout(r, 500)); // let the polls arrive first
        await svc.shutdownWorker({ namespace, identity: 'worker-a', workerInstanceKey, taskQueue });
        // Long polls would otherwise wait up to a minute.
        expect((await open).taskToken?.length ?? 0).toBe(0);
        expect((await activityPoll).taskToken?.length ?? 0).toBe(0);
        // A poll that arrives after the shutdown answers at once and takes nothing.
        const h = await start(taskQueue);
        expect((await poll()).taskToken?.length ?? 0).toBe(0);
        const task = await svc.pollWorkflowTaskQueue({
          namespace,
          taskQueue: { name: taskQueue, kind: NORMAL },
        });
        expect(task.workflowExecution?.workflowId).toBe(h.workflowId);
        await h.terminate();
      },
    );

    itOwn('falls back to the normal queue when a sticky worker vanishes without ShutdownWorker', async () => {
      const taskQueue = `vanished-${randomUUID()}`;
      const h = await start(taskQueue);
      const { complete } = await firstTaskBy(taskQueue, h, `${taskQueue}-sticky-a`, 2);
      await complete();
      // Nobody polls the sticky queue: queries and the next task wait out schedule-to-start (2 s).
      await finishWithNewWorker(taskQueue, h);
    });
  },
);
