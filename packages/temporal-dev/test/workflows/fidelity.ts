// Workflows for the fidelity tests (namespaces, visibility, limits): each shows one server behaviour.
import {
  ActivityFailure,
  condition,
  defineSignal,
  defineUpdate,
  executeChild,
  proxyActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  workflowInfo,
} from '@temporalio/workflow';

/** What the workflow sees of a Datetime search attribute set at start (the real server types it). */
export async function readsReviewAt(): Promise<string> {
  const value = workflowInfo().searchAttributes?.ReviewAt?.[0];
  return value instanceof Date ? `Date ${value.toISOString()}` : `${typeof value} ${String(value)}`;
}

/** A chain of `depth` workflows: each starts the next as its child and returns the chain's ids. */
export async function chain(depth: number): Promise<string[]> {
  const me = workflowInfo().workflowId;
  if (depth <= 1) return [me];
  const rest = await executeChild(chain, { workflowId: `${me}-child`, args: [depth - 1] });
  return [me, ...rest];
}

export async function quick(): Promise<string> {
  return 'done';
}

export const setValue = defineUpdate<number, [number]>('setValue');
export const slow = defineUpdate<string>('slow');
export const finish = defineSignal('finish');
export const note = defineSignal<[string]>('note');

/** Takes updates; returns the last value set once `finish` arrives. `slow` updates never complete. */
export async function takesUpdates(_padding = ''): Promise<number> {
  let value = 0;
  let done = false;
  setHandler(setValue, (v) => {
    const previous = value;
    value = v;
    return previous;
  });
  setHandler(slow, async () => {
    await condition(() => false);
    return 'never';
  });
  setHandler(finish, () => {
    done = true;
  });
  setHandler(note, () => {});
  await condition(() => done);
  return value;
}

/**
 * An activity nobody polls for, with equal schedule-to-start and schedule-to-close timeouts: on another
 * queue, or (`ownQueue`) on the workflow's own queue, where the SDK may ask for eager execution.
 */
export async function neverPickedUp(ownQueue = false): Promise<string> {
  const { greet } = proxyActivities<{ greet(name: string): Promise<string> }>({
    ...(ownQueue ? {} : { taskQueue: 'nobody-polls-this-queue' }),
    scheduleToStartTimeout: '1s',
    scheduleToCloseTimeout: '1s',
    retry: { maximumAttempts: 1 },
  });
  try {
    await greet('x');
    return 'completed';
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : undefined;
    return cause instanceof TimeoutFailure ? String(cause.timeoutType) : `other: ${String(err)}`;
  }
}

/** Runs a gated activity (gated-activities.ts), then sleeps a day of workflow time. */
export async function activityThenDay(startToCloseTimeout = '1 day'): Promise<string> {
  const { waitsAtGate } = proxyActivities<{ waitsAtGate(): Promise<string> }>({ startToCloseTimeout });
  const got = await waitsAtGate();
  await sleep('1 day');
  return got;
}

export interface HistoryView {
  length: number;
  size: number;
  suggested: boolean;
}

/**
 * Runs `steps` steps (a timer, or an activity echoing `padding`), recording after each what the last
 * workflow task told the workflow about its history; stops at the first continue-as-new suggestion.
 */
export async function growsHistory(steps: number, padding: string): Promise<HistoryView[]> {
  const { echo } = proxyActivities<{ echo(text: string): Promise<string> }>({
    startToCloseTimeout: '1 minute',
  });
  const seen: HistoryView[] = [];
  for (let i = 0; i < steps; i++) {
    if (padding) await echo(padding);
    else await sleep(1);
    const info = workflowInfo();
    seen.push({ length: info.historyLength, size: info.historySize, suggested: info.continueAsNewSuggested });
    if (info.continueAsNewSuggested) break;
  }
  return seen;
}

/** Runs the releasable, heartbeating activity (pausable-activities.ts) and returns its attempt. */
export async function runsPausable(): Promise<number> {
  const { heartbeatsUntilReleased } = proxyActivities<{ heartbeatsUntilReleased(): Promise<number> }>({
    activityId: 'pausable',
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '2 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 1 },
  });
  return await heartbeatsUntilReleased();
}
