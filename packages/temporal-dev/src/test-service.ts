// temporal.api.testservice.v1.TestService: time skipping controls (time-skipping mode only).
import type { Clock } from './clock.ts';
import type { Handlers } from './grpc-server.ts';
import { durMs, ts, tsMs } from './model.ts';

export function testServiceHandlers(clock: Clock): Handlers {
  const sleepUntil = (at: number): Promise<object> =>
    new Promise((resolve) => {
      clock.schedule(at, () => resolve({}));
    });
  return {
    LockTimeSkipping: () => {
      clock.lock();
      return {};
    },
    UnlockTimeSkipping: () => {
      clock.unlock();
      return {};
    },
    Sleep: (req) => sleepUntil(clock.now() + durMs(req.duration)),
    SleepUntil: (req) => sleepUntil(tsMs(req.timestamp)),
    UnlockTimeSkippingWithSleep: async (req) => {
      const at = clock.now() + durMs(req.duration);
      clock.unlock();
      try {
        return await clock.whileSleeping(() => sleepUntil(at));
      } finally {
        clock.lock();
      }
    },
    GetCurrentTime: () => ({ time: ts(clock.now()) }),
  };
}
