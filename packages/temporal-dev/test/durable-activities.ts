// Activities for the SQLite state tests.
import { Context } from '@temporalio/activity';

/** Heartbeats every 100 ms until `release()`; reports the heartbeats it sent after the first restart. */
export const control = { released: false, beats: 0, failures: [] as string[] };

export function release(): void {
  control.released = true;
}

export async function heartbeatUntilReleased(): Promise<number> {
  const ctx = Context.current();
  while (!control.released) {
    ctx.heartbeat(control.beats);
    control.beats++;
    try {
      await ctx.sleep(100);
    } catch (err) {
      control.failures.push(String(ctx.cancellationSignal.reason ?? err));
      throw err;
    }
  }
  return control.beats;
}

export async function label(value: string): Promise<string> {
  return `first=${value}`;
}
