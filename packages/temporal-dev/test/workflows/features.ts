// Conformance workflows: children, continue-as-new, retries, timeouts, cancellation, search attributes.
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities.ts';

const acts = proxyActivities<typeof activities>({
  startToCloseTimeout: '5s',
  retry: {
    initialInterval: '50ms',
    backoffCoefficient: 2,
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['ProviderDeclined'],
  },
});

export const childDone = defineSignal<[string]>('childDone');
export const progress = defineQuery<number>('progress');
export const addItem = defineUpdate<number, [string]>('addItem');

export async function child(name: string): Promise<string> {
  if (name === 'fail') throw ApplicationFailure.nonRetryable('child failed', 'ChildError');
  if (name === 'wait') await condition(() => false);
  return `child ${name}`;
}

export async function parent(waitingChildId: string): Promise<string[]> {
  const a = await executeChild(child, { args: ['a'] });
  let failed = '';
  try {
    await executeChild(child, { args: ['fail'] });
  } catch (err) {
    failed = (err as { cause?: Error }).cause?.message ?? 'no cause';
  }
  const waiting = await startChild(child, {
    args: ['wait'],
    workflowId: waitingChildId,
  });
  return [a, failed, waiting.workflowId];
}

export async function signalsAnother(targetId: string): Promise<void> {
  await getExternalWorkflowHandle(targetId).signal(childDone, 'from-sibling');
}

export async function waitsForSignal(): Promise<string> {
  let got = '';
  setHandler(childDone, (v) => {
    got = v;
  });
  await condition(() => got !== '');
  return got;
}

export async function counter(n: number, limit: number): Promise<number> {
  setHandler(progress, () => n);
  if (n < limit) await continueAsNew<typeof counter>(n + 1, limit);
  return n;
}

export async function retries(): Promise<Record<string, unknown>> {
  const flakyAttempt = await acts.flaky(3);
  let declinedType = '';
  let declinedRetryState = '';
  try {
    await acts.declined();
  } catch (err) {
    const cause = (err as Error & { cause?: ApplicationFailure }).cause;
    declinedType = cause?.type ?? '';
    declinedRetryState = String((err as { retryState?: unknown }).retryState);
  }
  const later = await acts.retryLater();
  const resumed = await acts.resumable();
  return { flakyAttempt, declinedType, declinedRetryState, later, resumed };
}

export async function timesOut(): Promise<string> {
  const { slow } = proxyActivities<typeof activities>({
    startToCloseTimeout: '200ms',
    retry: { maximumAttempts: 2 },
  });
  try {
    await slow(5000);
    return 'finished';
  } catch (err) {
    return `${(err as Error).message}: ${(err as { cause?: Error }).cause?.message}`;
  }
}

export async function cancelsActivity(): Promise<string> {
  const { heartbeatUntilCancelled } = proxyActivities<typeof activities>({
    startToCloseTimeout: '20s',
    heartbeatTimeout: '2s',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const scope = new CancellationScope();
  const p = scope.run(() => heartbeatUntilCancelled());
  await sleep(300);
  scope.cancel();
  try {
    return await p;
  } catch (err) {
    return isCancellation(err) ? 'activity cancelled' : `unexpected: ${(err as Error).message}`;
  }
}

export async function cancellable(): Promise<string> {
  try {
    await sleep('1 day');
    return 'slept';
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(() => acts.greet('cleanup'));
      throw err;
    }
    throw err;
  }
}

export async function asyncActivity(): Promise<string> {
  const { asyncComplete } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s' });
  return await asyncComplete();
}

export async function withSearchAttributes(): Promise<string> {
  upsertSearchAttributes({ PayoutState: ['submitted'], PayoutAmount: [2500] });
  upsertMemo({ note: 'upserted' });
  await sleep(10);
  upsertSearchAttributes({ PayoutState: ['paid'] });
  return 'ok';
}

export async function localActivities(): Promise<string> {
  const { greet } = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '5s' });
  return await greet('local');
}

export async function patchedWorkflow(): Promise<string> {
  if (patched('v2')) return 'v2';
  return 'v1';
}

export async function items(): Promise<string[]> {
  const list: string[] = [];
  setHandler(
    addItem,
    (item) => {
      list.push(item);
      return list.length;
    },
    {
      validator: (item) => {
        if (!item) throw new Error('empty item');
      },
    },
  );
  await condition(() => list.includes('done'));
  return list;
}

export async function failsOnce(): Promise<number> {
  const { attempt } = workflowInfo();
  if (attempt < 2) throw ApplicationFailure.retryable('first run fails', 'Transient');
  return attempt;
}

export async function sleepsDays(): Promise<number> {
  const start = Date.now();
  await sleep('3 days');
  await condition(() => false, '2 days');
  return Date.now() - start;
}

function timeoutOf(err: unknown): string {
  const cause = (err as { cause?: { timeoutType?: unknown; message?: string } }).cause;
  return String(cause?.timeoutType ?? cause?.message);
}

export async function activityTimeouts(): Promise<string[]> {
  const out: string[] = [];
  const hb = proxyActivities<typeof activities>({
    startToCloseTimeout: '10s',
    heartbeatTimeout: '300ms',
    retry: { maximumAttempts: 1 },
  });
  try {
    await hb.slow(3000);
  } catch (err) {
    out.push(timeoutOf(err));
  }
  const s2c = proxyActivities<typeof activities>({
    scheduleToCloseTimeout: '2 hours',
    startToCloseTimeout: '10s',
    retry: { initialInterval: '1 hour', backoffCoefficient: 1 },
  });
  try {
    await s2c.flaky(100);
  } catch (err) {
    out.push(`${(err as { retryState?: string }).retryState}: ${timeoutOf(err)}`);
  }
  // Nobody polls this queue: the task is never started and times out schedule-to-start.
  const unpolled = proxyActivities<typeof activities>({
    taskQueue: 'nobody-polls-this-queue',
    scheduleToStartTimeout: '2 seconds',
    startToCloseTimeout: '10s',
    retry: { maximumAttempts: 1 },
  });
  try {
    await unpolled.slow(1);
  } catch (err) {
    out.push(timeoutOf(err));
  }
  return out;
}

export async function childSignalsAndCancel(): Promise<string[]> {
  const h = await startChild(waitsForSignal, {});
  await h.signal(childDone, 'hi child');
  const first = await h.result();
  const scope = new CancellationScope();
  const p = scope.run(() => executeChild(child, { args: ['wait'] }));
  await sleep(10);
  scope.cancel();
  let second = '';
  try {
    await p;
  } catch (err) {
    second = isCancellation(err) ? 'child cancelled' : `unexpected ${(err as Error).message}`;
  }
  return [first, second];
}

export async function waitsWithDeadline(): Promise<string> {
  let got = '';
  setHandler(childDone, (v) => {
    got = v;
  });
  const inTime = await condition(() => got !== '', '1 day');
  return inTime ? got : 'deadline passed';
}

/** A plain Error (not an ApplicationFailure) fails the workflow task, which the server retries. */
export async function buggy(): Promise<void> {
  throw new Error('bug in workflow code');
}

export async function parentClosePolicies(ids: {
  cancel: string;
  abandon: string;
  external: string;
}): Promise<string> {
  await startChild(child, { args: ['wait'], workflowId: ids.cancel, parentClosePolicy: 'REQUEST_CANCEL' });
  await startChild(child, { args: ['wait'], workflowId: ids.abandon, parentClosePolicy: 'ABANDON' });
  await getExternalWorkflowHandle(ids.external).cancel();
  return 'parent done';
}
