// Conformance workflows for temporal-dev: each exercises one protocol feature through the official SDK.
import {
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  sleep,
} from '@temporalio/workflow';
import type * as activities from '../activities.ts';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s' });

export const approve = defineSignal<[string]>('approve');
export const status = defineQuery<string>('status');
export const setLimit = defineUpdate<number, [number]>('setLimit');

export async function greeting(name: string): Promise<string> {
  return await greet(name);
}

/** Activity, signal, query and timer in one workflow. */
export async function approval(name: string): Promise<string> {
  let state = 'waiting';
  let approver = '';
  setHandler(status, () => state);
  setHandler(approve, (by) => {
    approver = by;
  });
  await condition(() => approver !== '');
  state = 'approved';
  await sleep(50);
  const hello = await greet(name);
  state = 'done';
  return `${hello} approved by ${approver}`;
}

/** Update with a validator: rejects negative limits, returns the previous limit. */
export async function limits(): Promise<number> {
  let limit = 10;
  let done = false;
  setHandler(
    setLimit,
    (next) => {
      const prev = limit;
      limit = next;
      if (next === 0) done = true;
      return prev;
    },
    {
      validator: (next) => {
        if (next < 0) throw new Error('limit must not be negative');
      },
    },
  );
  setHandler(status, () => String(limit));
  await condition(() => done);
  return limit;
}

export async function longSleep(days: number): Promise<string> {
  await sleep(`${days} days`);
  return 'woke';
}
