// Workflow for the baseline of `npm run bench:decisions`: the cheapest update there is (no validator work,
// no activity), so a decision's latency can be compared with one bare update round trip on the same server.
import { condition, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';

export const echoUpdate = defineUpdate<number, [number]>('echo');
export const stopSignal = defineSignal('stop');

export async function updateEcho(): Promise<void> {
  let stopped = false;
  setHandler(echoUpdate, (n) => n);
  setHandler(stopSignal, () => {
    stopped = true;
  });
  await condition(() => stopped);
}
