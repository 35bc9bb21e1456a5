// The pure schedule decisions: next matching time (against a minute-by-minute search of the wall clock in
// the zone, daylight saving changes included), canonical specs, overlap policies, cron waits.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { cronBackoffMs } from '../src/cron.ts';
import { decideBuffer, Overlap, resolveOverlap, scheduledWorkflowId } from '../src/schedule-policy.ts';
import {
  canonicalizeSpec,
  compileSpec,
  jitterFor,
  nextTime,
  SpecError,
  wallOf,
} from '../src/schedule-spec.ts';

const ZONES = ['UTC', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata'];
const MIN = 60_000;

/** The first whole minute after `after` whose wall clock in `tz` matches: the definition, searched slowly. */
function bruteForce(
  tz: string,
  after: number,
  m: { hour: number[] | null; minute: number[] | null; dow: number[] | null },
  limit: number,
): number | null {
  let t = Math.floor(after / MIN) * MIN + MIN;
  const ok = (set: number[] | null, v: number) => !set || set.includes(v);
  for (let i = 0; i < limit; i++, t += MIN) {
    const w = new Date(wallOf(tz, t));
    if (ok(m.hour, w.getUTCHours()) && ok(m.minute, w.getUTCMinutes()) && ok(m.dow, w.getUTCDay())) return t;
  }
  return null;
}

const ranges = (vals: number[] | null, all: [number, number]) =>
  vals ? vals.map((v) => ({ start: v })) : [{ start: all[0], end: all[1] }];

describe('schedule spec', () => {
  it('finds the next matching wall-clock time in the zone (skipped and repeated hours included)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2027, 0, 1) }),
        fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 3 }), {
          nil: null,
        }),
        fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 59 }), { minLength: 1, maxLength: 3 }), {
          nil: null,
        }),
        fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 2 }), {
          nil: null,
        }),
        (tz, after, hour, minute, dow) => {
          const spec = compileSpec({
            timezoneName: tz,
            structuredCalendar: [
              {
                second: [{ start: 0 }],
                minute: ranges(minute, [0, 59]),
                hour: ranges(hour, [0, 23]),
                dayOfWeek: ranges(dow, [0, 6]),
                dayOfMonth: [{ start: 1, end: 31 }],
                month: [{ start: 1, end: 12 }],
              },
            ],
          });
          expect(nextTime(spec, '', after)?.next ?? null).toBe(
            bruteForce(tz, after, { hour, minute, dow }, 8 * 1440),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('fires every quarter hour through both New York changes', () => {
    const spec = compileSpec({ timezoneName: 'America/New_York', calendar: [{ minute: '*/15', hour: '*' }] });
    for (const change of [Date.UTC(2026, 2, 8, 7), Date.UTC(2026, 10, 1, 6)]) {
      fc.assert(
        fc.property(fc.integer({ min: change - 3 * 3600_000, max: change + 3 * 3600_000 }), (after) => {
          const want = bruteForce(
            'America/New_York',
            after,
            { hour: null, minute: [0, 15, 30, 45], dow: null },
            600,
          );
          expect(nextTime(spec, '', after)?.next).toBe(want);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('canonicalizes calendar and cron strings as the server describes them', () => {
    const c = canonicalizeSpec({
      cronString: ['CRON_TZ=Europe/Paris 30 9 * * mon-fri'],
      calendar: [{ dayOfWeek: 'sun-sat', hour: '*/6' }],
    });
    expect(c.timezoneName).toBe('Europe/Paris');
    expect(c.structuredCalendar).toEqual([
      {
        second: [{ start: 0 }],
        minute: [{ start: 0 }],
        hour: [{ start: 0, end: 23, step: 6 }],
        dayOfWeek: [{ start: 0, end: 6 }],
        dayOfMonth: [{ start: 1, end: 31 }],
        month: [{ start: 1, end: 12 }],
        year: [],
      },
      {
        second: [{ start: 0 }],
        minute: [{ start: 30 }],
        hour: [{ start: 9 }],
        dayOfWeek: [{ start: 1, end: 5 }],
        dayOfMonth: [{ start: 1, end: 31 }],
        month: [{ start: 1, end: 12 }],
        year: [],
      },
    ]);
    expect(canonicalizeSpec({ cronString: ['@every 90m/30m'] }).interval).toEqual([
      { interval: { seconds: 5400, nanos: 0 }, phase: { seconds: 1800, nanos: 0 } },
    ]);
    expect(() => canonicalizeSpec({ calendar: [{ hour: '24' }] })).toThrow(SpecError);
    expect(() =>
      canonicalizeSpec({ interval: [{ interval: { seconds: 60 }, phase: { seconds: 60 } }] }),
    ).toThrow('phase cannot be greater than Interval');
  });

  it('keeps jitter below the next nominal time, the same for the same time and seed', () => {
    const spec = compileSpec({ interval: [{ interval: { seconds: 600 } }], jitter: { seconds: 3600 } });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.string(), (after, seed) => {
        const n = nextTime(spec, seed, after)!;
        expect(n.next).toBeGreaterThanOrEqual(n.nominal);
        expect(n.next).toBeLessThan(n.nominal + 600_000);
        expect(nextTime(spec, seed, after)).toEqual(n);
        expect(jitterFor(seed, n.nominal, 0)).toBe(0);
      }),
    );
  });

  it('honours start and end times and exclusions', () => {
    const spec = compileSpec({
      interval: [{ interval: { seconds: 3600 } }],
      startTime: { seconds: Date.UTC(2027, 0, 1, 5) / 1000 },
      endTime: { seconds: Date.UTC(2027, 0, 1, 9) / 1000 },
      excludeCalendar: [{ hour: '7' }],
    });
    const times: number[] = [];
    for (let n = nextTime(spec, '', 0); n; n = nextTime(spec, '', n.next))
      times.push(new Date(n.next).getUTCHours());
    expect(times).toEqual([5, 6, 8, 9]);
  });
});

describe('schedule policies', () => {
  const start = fc.record({
    nominal: fc.integer({ min: 0, max: 1e6 }),
    actual: fc.integer({ min: 0, max: 1e6 }),
    overlap: fc.constantFrom(0, 1, 2, 3, 4, 5, 6),
    manual: fc.boolean(),
  });

  it('takes at most one non-overlapping start, and loses or keeps every other start exactly once', () => {
    fc.assert(
      fc.property(
        fc.array(start, { maxLength: 20 }),
        fc.boolean(),
        fc.constantFrom(1, 2, 3, 4, 5, 6),
        (buf, running, def) => {
          const d = decideBuffer(buf, running, (p) => resolveOverlap(p, def));
          if (running) expect(d.nonOverlapping).toBeNull();
          const accounted = d.overlapping.length + (d.nonOverlapping ? 1 : 0) + d.buffer.length + d.skipped;
          // Cancel/terminate drop ALLOW_ALL starts, and a later CANCEL/TERMINATE start replaces the chosen one.
          if (
            !d.cancelRunning &&
            !d.terminateRunning &&
            buf.every((s) => ![4, 5].includes(resolveOverlap(s.overlap, def)))
          )
            expect(accounted).toBe(buf.length);
          expect(
            d.buffer.filter((s) => resolveOverlap(s.overlap, def) === Overlap.BUFFER_ONE).length,
          ).toBeLessThanOrEqual(
            1 + d.buffer.filter((s) => resolveOverlap(s.overlap, def) !== Overlap.BUFFER_ONE).length,
          );
          if (d.cancelRunning || d.terminateRunning) expect(running).toBe(true);
        },
      ),
    );
  });

  it('names scheduled runs after the nominal second in RFC 3339', () => {
    expect(scheduledWorkflowId('close', Date.UTC(2026, 11, 7, 6, 0, 0, 123))).toBe(
      'close-2026-12-07T06:00:00Z',
    );
  });
});

describe('cron backoff', () => {
  it('waits for the first matching time not in the past, in whole seconds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2030, 0, 1) }),
        fc.integer({ min: 0, max: 5 * 3600_000 }),
        (scheduled, late) => {
          const now = scheduled + late;
          const wait = cronBackoffMs('0 * * * *', scheduled, now)!;
          expect(wait % 1000).toBe(0);
          const at = now + wait;
          expect(Math.floor(at / 3600_000) * 3600_000).toBeGreaterThanOrEqual(now - 999);
          expect(wait).toBeLessThanOrEqual(3600_000 + 1000);
        },
      ),
    );
    expect(cronBackoffMs('@every 2s', 10_000, 10_500)).toBe(2000); // 12.0 s, 1.5 s away, rounded up
    expect(cronBackoffMs('', 0, 0)).toBeNull();
    // Day of month and day of week both restricted: either (robfig's standard cron).
    const monday = Date.UTC(2026, 11, 7); // a Monday, not the 1st
    expect(cronBackoffMs('0 0 1 * 1', monday - 1000, monday - 1000)).toBe(1000);
  });
});
