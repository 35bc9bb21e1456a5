// Commission period calendar: which period an instant belongs to, in the platform's timezone.
// Ids: monthly `2026-11`, semi-monthly `2026-11-H1` (days 1-15) / `2026-11-H2`, weekly `2026-W47` (ISO).

export type CalendarKind = 'weekly' | 'semi_monthly' | 'monthly';

export interface PeriodCalendar {
  kind: CalendarKind;
  /** IANA timezone, e.g. 'America/New_York'. */
  timezone: string;
}

export const PERIOD_ID = /^\d{4}-(W\d{2}|\d{2}(-H[12])?)$/;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Years that have commission periods; an instant outside them belongs to no period. */
export const PERIOD_YEARS = { first: 1970, last: 9999 } as const;

/** The calendar kind an id is spelled in (its shape), or null when it is not a period id. */
export function periodKind(id: string): CalendarKind | null {
  if (!PERIOD_ID.test(id)) return null;
  if (id.includes('-W')) return 'weekly';
  return id.includes('-H') ? 'semi_monthly' : 'monthly';
}

/** A period id that names a real period: month 01-12, ISO week 01-52/53 of its year, year in PERIOD_YEARS. */
export function isValidPeriodId(id: string): boolean {
  const kind = periodKind(id);
  if (!kind) return false;
  const y = Number(id.slice(0, 4));
  if (y < PERIOD_YEARS.first || y > PERIOD_YEARS.last) return false;
  if (kind === 'weekly') {
    const w = Number(id.slice(6, 8));
    // Dec 28 is always in the last ISO week of its year.
    return w >= 1 && w <= isoWeek(y, 12, 28).week;
  }
  const m = Number(id.slice(5, 7));
  return m >= 1 && m <= 12;
}

/** Whether the period `id` (of calendar `cal`) has begun at `at`: ids of one kind sort in time order. */
export function periodHasStarted(id: string, at: Date, cal: PeriodCalendar): boolean {
  return id <= periodIdFor(at, cal);
}

// One formatter per timezone: building an Intl.DateTimeFormat costs far more than using one, and ingestion
// asks for the date of every event.
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Local calendar date of `at` in `timezone`. */
export function localDate(at: Date, timezone: string): { y: number; m: number; d: number } {
  // UTC needs no formatter (an invalid date still goes to the formatter, which refuses it as before).
  if (timezone === 'UTC' && !Number.isNaN(at.getTime()))
    return { y: at.getUTCFullYear(), m: at.getUTCMonth() + 1, d: at.getUTCDate() };
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: timezone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    formatters.set(timezone, format);
  }
  const parts = format.formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return { y: get('year'), m: get('month'), d: get('day') };
}

/** ISO week-numbering year and week of a calendar date. */
function isoWeek(y: number, m: number, d: number): { year: number; week: number } {
  const date = new Date(Date.UTC(y, m - 1, d));
  const dow = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - dow); // Thursday of this week decides the year
  const year = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return { year, week };
}

export function periodIdFor(at: Date, cal: PeriodCalendar): string {
  const { y, m, d } = localDate(at, cal.timezone);
  if (cal.kind === 'monthly') return `${y}-${pad(m)}`;
  if (cal.kind === 'semi_monthly') return `${y}-${pad(m)}-H${d <= 15 ? 1 : 2}`;
  const w = isoWeek(y, m, d);
  return `${w.year}-W${pad(w.week)}`;
}

/** The period after `id` (same calendar kind as the id's shape). */
export function nextPeriodId(id: string): string {
  if (!PERIOD_ID.test(id)) throw new Error(`"${id}" is not a period id`);
  const y = Number(id.slice(0, 4));
  const week = /^\d{4}-W(\d{2})$/.exec(id);
  if (week) {
    // Monday of ISO week 1 + 7*w days, then re-derive the ISO week of the following Monday.
    const jan4 = new Date(Date.UTC(y, 0, 4));
    const monday = Date.UTC(y, 0, 4) - ((jan4.getUTCDay() || 7) - 1) * 86_400_000;
    const next = new Date(monday + Number(week[1]) * 7 * 86_400_000);
    const w = isoWeek(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate());
    return `${w.year}-W${pad(w.week)}`;
  }
  const m = Number(id.slice(5, 7));
  const half = id.endsWith('-H1') ? 1 : id.endsWith('-H2') ? 2 : 0;
  if (half === 1) return `${y}-${pad(m)}-H2`;
  const ny = m === 12 ? y + 1 : y;
  const nm = m === 12 ? 1 : m + 1;
  return half === 2 ? `${ny}-${pad(nm)}-H1` : `${ny}-${pad(nm)}`;
}

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
