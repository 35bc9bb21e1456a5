// Workflows for test/worker/workflow-watchdog.test.ts: one that returns, one whose code never does.
import { sleep } from '@temporalio/workflow';

export async function returnsWorkflow(n: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    await sleep(1);
    sum += i;
  }
  return sum;
}

export async function spinsWorkflow(): Promise<never> {
  for (;;) {
    // an endless loop in workflow code: the thread never leaves this activation
  }
}
