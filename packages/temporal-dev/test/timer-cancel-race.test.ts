// A timer that fires while the workflow task cancelling it is being decided: its TimerFired is buffered,
// unseen by the worker. The official server drops the buffered fire and records the cancel; recording both
// (TimerCanceled, then TimerFired) made the SDK fail every later task of the run ("TimerMachine in state
// Canceled … TimerFired"), which the fault suite met as payouts whose workflows could never finish.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { msToTs } from '@temporalio/common/lib/time.js';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createTestEnv, usingOfficialServer } from '../src/testing.ts';

const { CommandType, EventType } = temporal.api.enums.v1;
const itOwn = usingOfficialServer(false) ? it.skip : it;

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await createTestEnv({ timeSkipping: false });
});
afterAll(async () => {
  await env?.teardown();
});

describe('temporal-dev: cancelling a timer that fired during the task', () => {
  itOwn('drops the buffered TimerFired and records only the cancel', async () => {
    const svc = env.connection.workflowService;
    const namespace = env.namespace ?? 'default';
    const taskQueue = `timer-race-${randomUUID()}`;
    const workflowId = `timer-race-${randomUUID()}`;
    await env.client.workflow.start('raceWorkflow', { taskQueue, workflowId });
    const poll = () =>
      svc.pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'hand' });
    const respond = (taskToken: Uint8Array | null | undefined, commands: object[]) =>
      svc.respondWorkflowTaskCompleted({ namespace, taskToken, identity: 'hand', commands });

    // Task 1 starts two timers: `wake` brings task 2, `late` fires while task 2 is held.
    const t1 = await poll();
    await respond(t1.taskToken, [
      {
        commandType: CommandType.COMMAND_TYPE_START_TIMER,
        startTimerCommandAttributes: { timerId: 'wake', startToFireTimeout: msToTs('1s') },
      },
      {
        commandType: CommandType.COMMAND_TYPE_START_TIMER,
        startTimerCommandAttributes: { timerId: 'late', startToFireTimeout: msToTs('3s') },
      },
    ]);
    const t2 = await poll();
    // Hold task 2 past `late`'s fire time. (If this machine took so long to hand out task 2 that `late`
    // fired before it, the fire is in task 2's history and the assertions below hold as well.)
    await sleep(4_000);
    await respond(t2.taskToken, [
      {
        commandType: CommandType.COMMAND_TYPE_CANCEL_TIMER,
        cancelTimerCommandAttributes: { timerId: 'late' },
      },
    ]);
    const t3 = await Promise.race([poll(), sleep(3_000).then(() => null)]);
    if (t3?.taskToken?.length) {
      await respond(t3.taskToken, [
        {
          commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
          completeWorkflowExecutionCommandAttributes: {},
        },
      ]);
    }

    const { history } = await svc.getWorkflowExecutionHistory({ namespace, execution: { workflowId } });
    const events = history?.events ?? [];
    const late = (e: (typeof events)[number]) =>
      e.timerFiredEventAttributes?.timerId === 'late' || e.timerCanceledEventAttributes?.timerId === 'late';
    const lateEvents = events.filter(late).map((e) => e.eventType);
    const started = events.find((e) => e.timerStartedEventAttributes?.timerId === 'late');
    const canceled = events.find((e) => e.timerCanceledEventAttributes?.timerId === 'late');
    if (lateEvents[0] === EventType.EVENT_TYPE_TIMER_FIRED) {
      // The slow-machine case: the fire reached task 2's history before the cancel.
      expect(lateEvents).toEqual([EventType.EVENT_TYPE_TIMER_FIRED, EventType.EVENT_TYPE_TIMER_CANCELED]);
    } else {
      expect(lateEvents).toEqual([EventType.EVENT_TYPE_TIMER_CANCELED]);
      expect(Number(canceled?.timerCanceledEventAttributes?.startedEventId)).toBe(Number(started?.eventId));
    }
    if (t3?.taskToken?.length) {
      expect(events.at(-1)?.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
    }
  });
});
