import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { payoutsSection } from '../../src/config/payouts.ts';
import {
  CalendarError,
  nextPayoutWindow,
  type PayoutCalendar,
  toLocal,
  WEEKDAYS,
  type Weekday,
  weekdayOf,
} from '../../src/routing/index.ts';

const businessDays: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri'];
const ny: PayoutCalendar = { timezone: 'America/New_York', days: businessDays, time: '17:00', holidays: [] };

describe('nextPayoutWindow', () => {
  it.each([
    ['Monday morning → same day 17:00 EST', '2026-11-23T14:00:00Z', ny, '2026-11-23T22:00:00.000Z'],
    ['exactly at the window → the next one', '2026-11-23T22:00:00Z', ny, '2026-11-24T22:00:00.000Z'],
    ['Friday evening → Monday', '2026-11-27T23:00:00Z', ny, '2026-11-30T22:00:00.000Z'],
    ['summer time (EDT, UTC-4)', '2026-07-01T12:00:00Z', ny, '2026-07-01T21:00:00.000Z'],
    ['across spring-forward weekend', '2026-03-06T23:00:00Z', ny, '2026-03-09T21:00:00.000Z'],
    ['across fall-back weekend', '2026-10-30T22:00:00Z', ny, '2026-11-02T22:00:00.000Z'],
    [
      'holiday skipped (Thanksgiving)',
      '2026-11-26T01:00:00Z',
      { ...ny, holidays: ['2026-11-26'] },
      '2026-11-27T22:00:00.000Z',
    ],
    [
      'time in the spring-forward gap runs after the gap (02:30 → 03:30 EDT)',
      '2026-03-08T00:00:00Z',
      { timezone: 'America/New_York', days: ['sun'] as Weekday[], time: '02:30', holidays: [] },
      '2026-03-08T07:30:00.000Z',
    ],
    [
      'time repeated by fall-back uses the first occurrence (01:30 EDT)',
      '2026-11-01T00:00:00Z',
      { timezone: 'America/New_York', days: ['sun'] as Weekday[], time: '01:30', holidays: [] },
      '2026-11-01T05:30:00.000Z',
    ],
    [
      'timezone ahead of UTC: local date differs from UTC date',
      '2026-11-23T19:00:00Z', // Monday 19:00 UTC is already Tuesday 08:00 NZDT (UTC+13)
      { timezone: 'Pacific/Auckland', days: businessDays, time: '09:00', holidays: [] },
      '2026-11-23T20:00:00.000Z',
    ],
  ])('%s', (_label, after, calendar, expected) => {
    expect(nextPayoutWindow(new Date(after), calendar).toISOString()).toBe(expected);
  });

  it.each([
    [{ ...ny, timezone: 'Mars/Olympus' }, /timezone/],
    [{ ...ny, time: '5pm' }, /HH:mm/],
    [{ ...ny, time: '24:00' }, /HH:mm/],
    [{ ...ny, days: [] }, /weekday/],
    [{ ...ny, days: ['funday' as Weekday] }, /weekday/],
    [{ ...ny, holidays: ['26-11-2026'] }, /holiday/],
  ])('rejects an invalid calendar %#', (calendar, message) => {
    expect(() => nextPayoutWindow(new Date(), calendar)).toThrow(CalendarError);
    expect(() => nextPayoutWindow(new Date(), calendar)).toThrow(message);
  });

  it('property: after `after`, on an allowed non-holiday day, at the configured local time', () => {
    const zones = [
      'America/New_York',
      'Europe/Berlin',
      'Europe/London',
      'Asia/Kolkata',
      'Australia/Lord_Howe', // 30-minute DST shift
      'Pacific/Auckland',
      'America/Sao_Paulo',
      'UTC',
    ];
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('2020-01-01T00:00:00Z'),
          max: new Date('2035-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        fc.constantFrom(...zones),
        fc.subarray([...WEEKDAYS], { minLength: 1 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        (after, timezone, days, hour, minute) => {
          const time = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
          const first = nextPayoutWindow(after, { timezone, days, time, holidays: [] });
          const local = toLocal(first, timezone);
          const holiday = `${local.year}-${String(local.month).padStart(2, '0')}-${String(local.day).padStart(2, '0')}`;
          const window = nextPayoutWindow(after, { timezone, days, time, holidays: [holiday] });
          for (const w of [first, window]) {
            expect(w.getTime()).toBeGreaterThan(after.getTime());
            const l = toLocal(w, timezone);
            expect(days).toContain(weekdayOf(l.year, l.month, l.day));
            if (l.hour !== hour || l.minute !== minute) {
              // Only allowed when the configured time does not exist that day (DST gap): then the
              // window is at most 2h later and one minute earlier the clock was before the configured time.
              const earlier = toLocal(w.getTime() - 60 * 60_000 * 2, timezone);
              expect(l.hour * 60 + l.minute).toBeGreaterThan(hour * 60 + minute);
              expect(l.hour * 60 + l.minute - (hour * 60 + minute)).toBeLessThanOrEqual(120);
              expect(earlier.day === l.day ? earlier.hour * 60 + earlier.minute : -1).toBeLessThan(
                hour * 60 + minute,
              );
            } else {
              expect(l.second).toBe(0);
            }
          }
          expect(window.getTime()).toBeGreaterThan(first.getTime()); // holiday skipped
          const wl = toLocal(window, timezone);
          expect(
            `${wl.year}-${String(wl.month).padStart(2, '0')}-${String(wl.day).padStart(2, '0')}`,
          ).not.toBe(holiday);
        },
      ),
      { numRuns: 300 },
    );
  });

  describe('interval windows (everyMs)', () => {
    const every2m: PayoutCalendar = { ...ny, everyMs: 120_000 };
    it.each([
      ['next multiple of the interval', '2026-11-23T14:00:30Z', every2m, '2026-11-23T14:02:00.000Z'],
      ['exactly on a window → the next one', '2026-11-23T14:02:00Z', every2m, '2026-11-23T14:04:00.000Z'],
      // Friday 23:59 EST → Saturday and Sunday are closed → Monday 00:00 EST (05:00Z).
      [
        'closed days skipped to the first open local midnight',
        '2026-11-28T04:59:00Z',
        every2m,
        '2026-11-30T05:00:00.000Z',
      ],
      [
        'holiday skipped',
        '2026-11-26T06:00:00Z',
        { ...every2m, holidays: ['2026-11-26'] },
        '2026-11-27T05:00:00.000Z',
      ],
      ['hourly windows', '2026-11-23T14:00:30Z', { ...ny, everyMs: 3_600_000 }, '2026-11-23T15:00:00.000Z'],
    ])('%s', (_label, after, calendar, expected) => {
      expect(nextPayoutWindow(new Date(after), calendar).toISOString()).toBe(expected);
    });

    it.each([[59_999], [86_400_001], [90_000.5]])('rejects an interval of %p ms', (everyMs) => {
      expect(() => nextPayoutWindow(new Date(), { ...ny, everyMs })).toThrow(/between 1m and 24h/);
    });

    it('property: the first multiple of the interval after `after` on an open local date', () => {
      fc.assert(
        fc.property(
          fc.date({
            min: new Date('2020-01-01T00:00:00Z'),
            max: new Date('2035-12-31T00:00:00Z'),
            noInvalidDate: true,
          }),
          fc.constantFrom('America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC'),
          fc.subarray([...WEEKDAYS], { minLength: 1 }),
          fc.constantFrom(60_000, 120_000, 300_000, 3_600_000, 86_400_000),
          (after, timezone, days, everyMs) => {
            const calendar: PayoutCalendar = { timezone, days, time: '17:00', holidays: [], everyMs };
            const w = nextPayoutWindow(after, calendar);
            expect(w.getTime()).toBeGreaterThan(after.getTime());
            expect(w.getTime() % everyMs).toBe(0);
            const open = (t: number) => {
              const l = toLocal(t, timezone);
              return days.includes(weekdayOf(l.year, l.month, l.day));
            };
            expect(open(w.getTime())).toBe(true);
            // No earlier multiple after `after` was open.
            for (
              let t = w.getTime() - everyMs;
              t > after.getTime() && t > w.getTime() - 300 * everyMs;
              t -= everyMs
            ) {
              expect(open(t)).toBe(false);
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  it.each<[Record<string, string>, number | undefined | RegExp]>([
    [{}, undefined],
    [{ PAYOUT_WINDOW_EVERY: '' }, undefined],
    [{ PAYOUT_WINDOW_EVERY: '2m' }, 120_000],
    [{ PAYOUT_WINDOW_EVERY: '30s' }, /PAYOUT_WINDOW_EVERY: .*between 1m and 24h/],
    [{ PAYOUT_WINDOW_EVERY: 'often' }, /PAYOUT_WINDOW_EVERY: "often" is not a duration/],
  ])('PAYOUT_WINDOW_EVERY %j', (env, expected) => {
    const r = payoutsSection.parse(env);
    if (expected instanceof RegExp) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.join('\n')).toMatch(expected);
    } else {
      expect(r.ok && r.value.calendar.everyMs).toBe(expected);
    }
  });
});
