// Activities used by the temporal-dev conformance workflows.
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

export async function greet(name: string): Promise<string> {
  return `Hello, ${name}`;
}

/** Fails until the given attempt, then succeeds; reports the attempt that succeeded. */
export async function flaky(succeedOnAttempt: number): Promise<number> {
  const { attempt } = Context.current().info;
  if (attempt < succeedOnAttempt) throw new Error(`attempt ${attempt} failed`);
  return attempt;
}

export async function declined(): Promise<never> {
  throw ApplicationFailure.create({ type: 'ProviderDeclined', message: 'card declined' });
}

export async function retryLater(): Promise<number> {
  const { attempt } = Context.current().info;
  if (attempt === 1) {
    throw ApplicationFailure.create({ message: 'try later', nextRetryDelay: '200ms' });
  }
  return attempt;
}

/** Heartbeats progress; the second attempt resumes from the first attempt's heartbeat details. */
export async function resumable(): Promise<string> {
  const ctx = Context.current();
  const from = (ctx.info.heartbeatDetails as number | undefined) ?? 0;
  if (ctx.info.attempt === 1) {
    ctx.heartbeat(5);
    await ctx.sleep(100);
    throw new Error('crash after heartbeat');
  }
  return `resumed from ${from} on attempt ${ctx.info.attempt}`;
}

/** Heartbeats until cancelled. */
export async function heartbeatUntilCancelled(): Promise<string> {
  const ctx = Context.current();
  for (;;) {
    ctx.heartbeat();
    try {
      await ctx.sleep(50);
    } catch (err) {
      if (ctx.cancellationSignal.aborted) return 'cancelled';
      throw err;
    }
  }
}

/** Never finishes in time: used for start-to-close timeouts. */
export async function slow(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Completes asynchronously: hands its task token to the test, which completes it by client. */
export const tokens: Uint8Array[] = [];
export async function asyncComplete(): Promise<string> {
  tokens.push(Context.current().info.taskToken);
  Context.current().heartbeat();
  throw new CompleteAsyncError();
}
