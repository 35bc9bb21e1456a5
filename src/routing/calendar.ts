// Scheduled payouts leave at the next payout window: an allowed weekday, not a holiday, at a local
// time in an IANA timezone. DST is handled with Intl only (no date library):
// - a local time skipped by a spring-forward gap runs that many minutes later (02:30 -> 03:30), like
//   cron/Temporal "compatible" disambiguation — the window is never silently dropped;
// - a local time that occurs twice (fall back) uses the first occurrence.

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface PayoutCalendar {
  /** IANA timezone, e.g. "America/New_York". */
  timezone: string;
  /** Weekdays on which a window opens. */
  days: Weekday[];
  /** Local time of the window, "HH:mm" (24h). */
  time: string;
  /** Local dates without a window, "YYYY-MM-DD". */
  holidays: string[];
  /**
   * Instead of one window a day at `time`: a window at every multiple of this many ms since the Unix epoch
   * (on the allowed days, not on holidays). For trials and for platforms that pay out through the day.
   */
  everyMs?: number;
}

/** Bounds of `everyMs`: a window at least every day, at most every minute. */
export const WINDOW_EVERY_MIN_MS = 60_000;
export const WINDOW_EVERY_MAX_MS = 86_400_000;

export class CalendarError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalendarError';
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: timezone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new CalendarError(`unknown IANA timezone "${timezone}" (use e.g. "Europe/Berlin")`);
    }
    formatters.set(timezone, f);
  }
  return f;
}

export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Wall-clock fields of `instant` in `timezone`. */
export function toLocal(instant: Date | number, timezone: string): LocalDateTime {
  const parts = formatter(timezone).formatToParts(instant);
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? Number.NaN);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

function wallAsUtcMs(l: LocalDateTime): number {
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
}

/** UTC offset (ms, local − UTC) of `timezone` at `ms`, to the second. */
function offsetAt(ms: number, timezone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtcMs(toLocal(whole, timezone)) - whole;
}

/** The instant at which the wall clock in `timezone` shows `local` (gap → shifted later, overlap → earlier). */
export function fromLocal(local: LocalDateTime, timezone: string): Date {
  const wall = wallAsUtcMs(local);
  const day = 86_400_000;
  const before = offsetAt(wall - day, timezone);
  const after = offsetAt(wall + day, timezone);
  const valid = [wall - before, wall - after].filter((t) => offsetAt(t, timezone) === wall - t);
  if (valid.length > 0) return new Date(Math.min(...valid));
  // Gap: the wall time does not exist; apply the offset in force before the transition, which lands
  // the same number of minutes after the gap as the requested time was after its start.
  return new Date(wall - before);
}

const TIME_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function validateCalendar(cal: PayoutCalendar): void {
  formatter(cal.timezone);
  if (!TIME_RE.test(cal.time))
    throw new CalendarError(`payout window time must be "HH:mm" (24h), got "${cal.time}"`);
  if (cal.days.length === 0) throw new CalendarError('payout calendar needs at least one weekday');
  for (const d of cal.days) {
    if (!WEEKDAYS.includes(d)) throw new CalendarError(`unknown weekday "${d}" (use ${WEEKDAYS.join(', ')})`);
  }
  for (const h of cal.holidays) {
    if (!DATE_RE.test(h)) throw new CalendarError(`holiday must be "YYYY-MM-DD", got "${h}"`);
  }
  const every = cal.everyMs;
  if (
    every !== undefined &&
    (!Number.isInteger(every) || every < WINDOW_EVERY_MIN_MS || every > WINDOW_EVERY_MAX_MS)
  ) {
    throw new CalendarError(`payout window interval must be between 1m and 24h, got ${every} ms`);
  }
}

function pad(n: number): string {
  return n.toString().padStart(2, '0');
}

/** Weekday of a calendar date (no timezone involved). */
export function weekdayOf(year: number, month: number, day: number): Weekday {
  return WEEKDAYS[new Date(Date.UTC(year, month - 1, day)).getUTCDay()]!;
}

/**
 * The first payout window strictly after `after`. Throws CalendarError for an invalid calendar or
 * when no window exists within 3 years (e.g. every allowed day is a holiday).
 */
export function nextPayoutWindow(after: Date, calendar: PayoutCalendar): Date {
  validateCalendar(calendar);
  if (calendar.everyMs !== undefined) return nextIntervalWindow(after, calendar, calendar.everyMs);
  const [hour, minute] = calendar.time.split(':').map(Number) as [number, number];
  const holidays = new Set(calendar.holidays);
  const start = toLocal(after, calendar.timezone);
  // Walk local calendar dates from the local date of `after` (Date.UTC handles month/year rollover).
  for (let i = 0; i < 3 * 366; i++) {
    const d = new Date(Date.UTC(start.year, start.month - 1, start.day + i));
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth() + 1;
    const day = d.getUTCDate();
    if (!calendar.days.includes(weekdayOf(year, month, day))) continue;
    if (holidays.has(`${year}-${pad(month)}-${pad(day)}`)) continue;
    const window = fromLocal({ year, month, day, hour, minute, second: 0 }, calendar.timezone);
    if (window.getTime() > after.getTime()) return window;
  }
  throw new CalendarError('no payout window within 3 years: check the calendar days and holidays');
}

/** Interval windows: the first multiple of `every` after `after` whose local date is open. */
function nextIntervalWindow(after: Date, calendar: PayoutCalendar, every: number): Date {
  const holidays = new Set(calendar.holidays);
  const ceilAfter = (ms: number) => (Math.floor(ms / every) + 1) * every;
  let candidate = ceilAfter(after.getTime());
  // Each closed date is skipped in one step (to its next local midnight), so the walk is bounded by days.
  for (let i = 0; i < 3 * 366 + 2; i++) {
    const l = toLocal(candidate, calendar.timezone);
    const date = `${l.year}-${pad(l.month)}-${pad(l.day)}`;
    if (calendar.days.includes(weekdayOf(l.year, l.month, l.day)) && !holidays.has(date)) {
      return new Date(candidate);
    }
    const nextMidnight = fromLocal(
      { year: l.year, month: l.month, day: l.day + 1, hour: 0, minute: 0, second: 0 },
      calendar.timezone,
    );
    candidate = ceilAfter(nextMidnight.getTime() - 1);
  }
  throw new CalendarError('no payout window within 3 years: check the calendar days and holidays');
}
