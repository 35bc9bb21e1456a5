import { describe, expect, it } from '@jest/globals';
import { DatabaseUnavailable } from '../../src/db/unavailable.ts';
import { releaseUntilDone } from '../../src/http/idempotency.ts';

/** A release that the database refuses `failures` times, then accepts. */
function flakyRelease(failures: number, error: () => Error = () => new DatabaseUnavailable('away')) {
  let calls = 0;
  let done!: () => void;
  const released = new Promise<void>((resolve) => {
    done = resolve;
  });
  return {
    released,
    calls: () => calls,
    release: async () => {
      calls++;
      if (calls <= failures) throw error();
      done();
    },
  };
}

describe('releasing an idempotency lease', () => {
  it('tries again in the background while the database is away, so a retry is not refused until the lease runs out', async () => {
    const r = flakyRelease(3);
    const errors: unknown[] = [];
    await releaseUntilDone(r.release, (e) => errors.push(e), [1, 1, 1, 1]);
    expect(r.calls()).toBe(1); // the answer is not held up by the outage
    await r.released;
    expect(r.calls()).toBe(4);
    expect(errors).toEqual([]);
  });

  it('reports a failure that is not an outage at once, and gives up after the last try', async () => {
    const bad = flakyRelease(1, () => new Error('syntax error'));
    const errors: unknown[] = [];
    await releaseUntilDone(bad.release, (e) => errors.push(e), [1]);
    expect(bad.calls()).toBe(1);
    expect(String(errors[0])).toMatch(/syntax error/);

    const away = flakyRelease(10);
    const reported = new Promise<unknown>((resolve) => {
      void releaseUntilDone(away.release, resolve, [1, 1]);
    });
    expect(await reported).toBeInstanceOf(DatabaseUnavailable);
    expect(away.calls()).toBe(3);
  });
});
