// Workflows for `npm run bench:engine`: the smallest real unit of work (one activity) and an idle
// workflow that holds server state open until signalled.
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';

export interface EngineBenchActivities {
  echo(input: string): Promise<string>;
}

const { echo } = proxyActivities<EngineBenchActivities>({ startToCloseTimeout: '30 seconds' });

export async function oneActivity(input: string): Promise<string> {
  return await echo(input);
}

export const releaseSignal = defineSignal('release');

export async function waitForRelease(): Promise<void> {
  let released = false;
  setHandler(releaseSignal, () => {
    released = true;
  });
  await condition(() => released);
}
