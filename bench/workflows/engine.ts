// Workflows for `npm run bench:engine`: the smallest real unit of work (one activity) and an idle
// workflow that holds server state open until signalled. bench:payouts also runs `payoutShaped`: a
// payout's steps with no work in them, so the engine's share of a payout's cost can be read apart.
import {
  condition,
  defineSignal,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';

export interface EngineBenchActivities {
  echo(input: string): Promise<string>;
}

const { echo } = proxyActivities<EngineBenchActivities>({ startToCloseTimeout: '30 seconds' });

export async function oneActivity(input: string): Promise<string> {
  return await echo(input);
}

const local = proxyLocalActivities<EngineBenchActivities>({ startToCloseTimeout: '30 seconds' });

/** A payout's shape: admit (local), record `submitting` (local), submit (activity), settle (local). */
export async function payoutShaped(input: string): Promise<string> {
  await local.echo(input);
  await local.echo(input);
  const sent = await echo(input);
  return await local.echo(sent);
}

export const releaseSignal = defineSignal('release');

export async function waitForRelease(): Promise<void> {
  let released = false;
  setHandler(releaseSignal, () => {
    released = true;
  });
  await condition(() => released);
}
