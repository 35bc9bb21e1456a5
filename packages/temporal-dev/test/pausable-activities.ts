// An activity the test process releases: it heartbeats until released (then returns its attempt) or
// until the server asks it to stop (pause, reset, cancel), which the SDK reports as a failure.
import { Context } from '@temporalio/activity';

let released = false;
export function release(): void {
  released = true;
}
export function hold(): void {
  released = false;
}

export async function heartbeatsUntilReleased(): Promise<number> {
  const ctx = Context.current();
  for (;;) {
    if (released) return ctx.info.attempt;
    ctx.heartbeat();
    await ctx.sleep(50);
  }
}
