// Workflows for the SQLite state tests: one that crosses a server restart (an activity heartbeating
// through it, a signal and a timer after it) and one whose history is reset.
import {
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type * as activities from '../durable-activities.ts';

const { heartbeatUntilReleased } = proxyActivities<typeof activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { maximumAttempts: 1 },
});
const { label } = proxyActivities<typeof activities>({ startToCloseTimeout: '30 seconds' });

export const proceed = defineSignal('proceed');
export const add = defineSignal<[string]>('add');
export const seen = defineQuery<string[]>('seen');
export const addByUpdate = defineUpdate<number, [string]>('addByUpdate');

/** Runs the heartbeating activity, then waits for `proceed`, then a short timer. */
export async function acrossRestart(): Promise<string> {
  let go = false;
  setHandler(proceed, () => {
    go = true;
  });
  const beats = await heartbeatUntilReleased();
  await condition(() => go);
  await sleep('300 milliseconds');
  return `activity ${beats}, then signal and timer`;
}

/** Collects signalled (or updated) values; labels the first by activity; done at three. */
export async function collector(): Promise<string[]> {
  const values: string[] = [];
  setHandler(add, (v) => {
    values.push(v);
  });
  setHandler(addByUpdate, (v) => values.push(v));
  setHandler(seen, () => values);
  await condition(() => values.length >= 1);
  const first = await label(values[0]!);
  await condition(() => values.length >= 3);
  return [first, ...values];
}
