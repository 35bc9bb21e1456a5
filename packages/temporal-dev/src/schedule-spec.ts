// Schedule specs as the official server reads them (service/worker/scheduler spec.go, calendar.go):
// canonical form (calendar strings and cron strings become structured calendars), next matching time in
// the spec's time zone, exclusions, start/end bounds, and deterministic jitter. Pure: no clock, no I/O.
import type { Obj } from './model.ts';

export interface Range {
  start: number;
  end?: number;
  step?: number;
}

/** Ranges per field; an empty `year` list means every year. */
export interface StructuredCalendar {
  second: Range[];
  minute: Range[];
  hour: Range[];
  dayOfMonth: Range[];
  month: Range[];
  year: Range[];
  dayOfWeek: Range[];
  comment?: string;
}

export const MIN_YEAR = 2000;
export const MAX_YEAR = 2100;
const MAX_COMMENT = 200;
/** Exclusions that keep matching give up after this many candidates (the real server's limit is configurable). */
const MAX_ITERATIONS = 100_000;

export class SpecError extends Error {}

type Mode = 'int' | 'year' | 'month' | 'dow';
const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

function parseValue(s: string, min: number, max: number, mode: Mode): number {
  const lower = s.toLowerCase();
  let i = Number.NaN;
  if (mode === 'month' && s.length >= 3) {
    const k = MONTHS.findIndex((m) => m.startsWith(lower));
    if (k >= 0) i = k + 1;
  } else if (mode === 'dow' && s.length >= 2) {
    const k = DAYS.findIndex((d) => d.startsWith(lower));
    if (k >= 0) i = k;
  }
  if (Number.isNaN(i)) i = /^-?\d+$/.test(s) ? Number(s) : Number.NaN;
  if (!Number.isInteger(i) || i < min || i > max) throw new RangeError('out of range');
  return i;
}

/** One CalendarSpec string field ("*", "1-5", "mon-fri", "*\/15", "1,15") → ranges. */
function parseField(raw: string, field: string, def: string, min: number, max: number, mode: Mode): Range[] {
  const s = raw.trim() || def;
  if (s === '*' && mode === 'year') return [];
  const ranges: Range[] = [];
  for (let part of s.split(',')) {
    let step = 1;
    let hasStep = false;
    const slashes = part.split('/').length - 1;
    if (slashes > 1) throw new SpecError(`${field} has too many slashes`);
    if (slashes === 1) {
      const [p, st] = part.split('/') as [string, string];
      if (st === '') throw new SpecError(`${field} missing step value`);
      step = /^\d+$/.test(st) ? Number(st) : Number.NaN;
      if (!(step >= 1)) throw new SpecError(`${field} has invalid Step`);
      part = p;
      hasStep = true;
    }
    let start = min;
    let end = max;
    if (part !== '*') {
      if (part.includes('-')) {
        const bits = part.split('-');
        if (bits.length !== 2) throw new SpecError(`${field} has too many dashes`);
        try {
          start = parseValue(bits[0]!, min, max, mode);
        } catch {
          throw new SpecError(`${field} Start is not in range [${min}-${max}]`);
        }
        try {
          end = parseValue(bits[1]!, start, max, mode);
        } catch {
          throw new SpecError(`${field} End is before Start or not in range [${min}-${max}]`);
        }
      } else {
        try {
          start = parseValue(part, min, max, mode);
        } catch {
          throw new SpecError(`${field} is not in range [${min}-${max}]`);
        }
        if (!hasStep) end = start;
      }
    }
    // Day of week 7 is Sunday too.
    if (mode === 'dow' && end === 7) {
      if ((7 - start) % step === 0 && (step > 1 || start > 1)) {
        ranges.push({ start: 0 });
        if (start === 7) continue;
      }
      end = 6;
    }
    ranges.push(compact({ start, end, step }));
  }
  return ranges;
}

/** As the server stores ranges: end equal to start and step 1 are left out. */
function compact(r: Range): Range {
  const out: Range = { start: r.start };
  if (r.end !== undefined && r.end !== r.start) out.end = r.end;
  if (r.step !== undefined && r.step !== 1 && r.step !== 0) out.step = r.step;
  return out;
}

export function calendarToStructured(cal: Obj): StructuredCalendar {
  const errs: string[] = [];
  const f = (v: string | undefined, field: string, def: string, min: number, max: number, mode: Mode) => {
    try {
      return parseField(v ?? '', field, def, min, max, mode);
    } catch (e) {
      errs.push((e as Error).message);
      return [];
    }
  };
  const out: StructuredCalendar = {
    second: f(cal.second, 'Second', '0', 0, 59, 'int'),
    minute: f(cal.minute, 'Minute', '0', 0, 59, 'int'),
    hour: f(cal.hour, 'Hour', '0', 0, 23, 'int'),
    dayOfWeek: f(cal.dayOfWeek, 'DayOfWeek', '*', 0, 7, 'dow'),
    dayOfMonth: f(cal.dayOfMonth, 'DayOfMonth', '*', 1, 31, 'int'),
    month: f(cal.month, 'Month', '*', 1, 12, 'month'),
    year: f(cal.year, 'Year', '*', MIN_YEAR, MAX_YEAR, 'year'),
    ...(cal.comment ? { comment: cal.comment } : {}),
  };
  if (errs.length) throw new SpecError(errs.join(', '));
  return out;
}

const PREDEFINED: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Go-style duration text ("1h30m", "90s", "2.5h") → ms. */
export function parseGoDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/gy;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
  };
  let total = 0;
  let pos = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]!]!;
    pos = m.index + m[0].length;
  }
  if (s.length === 0 || pos !== s.length) throw new SpecError(`invalid duration "${s}"`);
  return Math.round(total);
}

export interface ParsedCron {
  calendar?: StructuredCalendar;
  interval?: { intervalMs: number; phaseMs: number };
  timezone: string;
}

/** A cron string: 5-7 fields, `@daily`-style names, `@every 1h[/offset]`, an optional `TZ=`/`CRON_TZ=` prefix. */
export function parseCron(input: string): ParsedCron {
  let c = input.trim();
  let timezone = '';
  if (c.startsWith('TZ=') || c.startsWith('CRON_TZ=')) {
    const sp = c.indexOf(' ');
    if (sp < 0) throw new SpecError('CronString has time zone but missing fields');
    timezone = c.slice(c.indexOf('=') + 1, sp);
    c = c.slice(sp + 1);
  }
  const hash = c.indexOf('#');
  const comment = hash >= 0 ? c.slice(hash + 1).trim() : '';
  if (hash >= 0) c = c.slice(0, hash);
  c = c.trim();
  if (c.startsWith('@every')) {
    const sp = c.indexOf(' ');
    if (sp < 0) throw new SpecError('CronString does not have interval after @every');
    const [iv, ph] = c
      .slice(sp + 1)
      .trim()
      .split('/') as [string, string | undefined];
    return {
      interval: { intervalMs: parseGoDuration(iv), phaseMs: ph ? parseGoDuration(ph) : 0 },
      timezone: '',
    };
  }
  c = PREDEFINED[c] ?? c;
  const toks = c.split(/\s+/).filter(Boolean);
  const cal: Obj = { comment };
  if (toks.length === 5) [cal.minute, cal.hour, cal.dayOfMonth, cal.month, cal.dayOfWeek] = toks;
  else if (toks.length === 6)
    [cal.minute, cal.hour, cal.dayOfMonth, cal.month, cal.dayOfWeek, cal.year] = toks;
  else if (toks.length === 7)
    [cal.second, cal.minute, cal.hour, cal.dayOfMonth, cal.month, cal.dayOfWeek, cal.year] = toks;
  else throw new SpecError('CronString does not have 5-7 fields');
  return { calendar: calendarToStructured(cal), timezone };
}

function cleanRanges(rs: Obj[] | undefined): Range[] {
  return (rs ?? []).map((r) => {
    const start = r.start ?? 0;
    const end = r.end ?? 0;
    const step = r.step ?? 0;
    return compact({ start, end: end < start ? start : end, step: step === 0 ? 1 : step });
  });
}

function structuredFrom(s: Obj): StructuredCalendar {
  return {
    second: cleanRanges(s.second),
    minute: cleanRanges(s.minute),
    hour: cleanRanges(s.hour),
    dayOfMonth: cleanRanges(s.dayOfMonth),
    month: cleanRanges(s.month),
    year: cleanRanges(s.year),
    dayOfWeek: cleanRanges(s.dayOfWeek),
    ...(s.comment ? { comment: s.comment } : {}),
  };
}

function validateStructured(s: StructuredCalendar): void {
  const errs: string[] = [];
  const check = (rs: Range[], field: string, min: number, max: number) => {
    for (const r of rs) {
      if (r.start < min || r.start > max) errs.push(`${field} Start is not in range [${min}-${max}]`);
      if (r.end !== undefined && r.end !== 0 && (r.end < r.start || r.end > max))
        errs.push(`${field} End is before Start or not in range [${min}-${max}]`);
      if ((r.step ?? 0) < 0) errs.push(`${field} has invalid Step`);
    }
  };
  check(s.second, 'Second', 0, 59);
  check(s.minute, 'Minute', 0, 59);
  check(s.hour, 'Hour', 0, 23);
  check(s.dayOfMonth, 'DayOfMonth', 1, 31);
  check(s.month, 'Month', 1, 12);
  check(s.year, 'Year', MIN_YEAR, MAX_YEAR);
  check(s.dayOfWeek, 'DayOfWeek', 0, 6);
  if ((s.comment ?? '').length > MAX_COMMENT) errs.push('comment is too long');
  if (errs.length) throw new SpecError(`invalid calendar spec: ${errs.join(', ')}`);
}

const msOfDur = (d: Obj | undefined): number =>
  d ? Number(d.seconds ?? 0) * 1000 + Math.floor((d.nanos ?? 0) / 1e6) : 0;

/**
 * The canonical spec the server keeps and describes: calendar and cron strings turned into structured
 * calendars (cron `@every` into intervals, a cron `TZ=` into the time zone), ranges cleaned. Throws
 * SpecError (an INVALID_ARGUMENT) naming the field.
 */
export function canonicalizeSpec(spec: Obj | undefined): Obj {
  const s: Obj = { ...(spec ?? {}) };
  const structured: StructuredCalendar[] = (s.structuredCalendar ?? []).map(structuredFrom);
  const excludes: StructuredCalendar[] = (s.excludeStructuredCalendar ?? []).map(structuredFrom);
  for (const cal of s.calendar ?? []) structured.push(calendarToStructured(cal));
  for (const cal of s.excludeCalendar ?? []) excludes.push(calendarToStructured(cal));
  const intervals: Obj[] = [...(s.interval ?? [])];
  let cronTz: string | undefined;
  for (const cs of s.cronString ?? []) {
    const p = parseCron(cs);
    if (cronTz !== undefined && p.timezone !== cronTz) throw new SpecError('conflicting timezone names');
    cronTz = p.timezone;
    if (p.calendar) structured.push(p.calendar);
    if (p.interval) {
      intervals.push({
        interval: durOf(p.interval.intervalMs),
        ...(p.interval.phaseMs ? { phase: durOf(p.interval.phaseMs) } : {}),
      });
    }
  }
  if (cronTz) {
    if ((s.timezoneName && s.timezoneName !== cronTz) || s.timezoneData?.length)
      throw new SpecError('conflicting timezone names');
    s.timezoneName = cronTz;
  }
  for (const c of structured) validateStructured(c);
  for (const iv of intervals) {
    const every = msOfDur(iv.interval);
    const phase = msOfDur(iv.phase);
    if (every < 1000) throw new SpecError('interval is too small');
    if (phase < 0) throw new SpecError('phase is negative');
    if (phase >= every) throw new SpecError('phase cannot be greater than Interval');
  }
  if (s.timezoneName && !isTimezone(s.timezoneName))
    throw new SpecError(`unknown time zone ${s.timezoneName}`);
  delete s.calendar;
  delete s.excludeCalendar;
  delete s.cronString;
  return {
    ...s,
    structuredCalendar: structured,
    excludeStructuredCalendar: excludes,
    interval: intervals,
  };
}

function durOf(ms: number): Obj {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

// ---- time zones (Intl) ------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

export function isTimezone(tz: string): boolean {
  if (tz === '' || tz === 'UTC') return true;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Wall clock of `ms` in `tz`, as the epoch ms of the same wall clock in UTC. */
export function wallOf(tz: string, ms: number): number {
  const whole = Math.floor(ms / 1000) * 1000;
  if (tz === '' || tz === 'UTC') return whole;
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(whole)) p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
}

/** UTC offset of `tz` at instant `ms` (wall − instant), in ms. */
export function offsetAt(tz: string, ms: number): number {
  return wallOf(tz, ms) - Math.floor(ms / 1000) * 1000;
}

/** The first instant in (from, to] where the offset differs from `offset`, to the second; null if none. */
function firstTransition(tz: string, from: number, to: number, offset: number): number | null {
  if (tz === '' || tz === 'UTC' || to <= from) return null;
  const STEP = 6 * 86_400_000; // no zone changes its offset twice within a week
  let lo = from;
  let hi = -1;
  for (let t = Math.min(from + STEP, to); ; t = Math.min(t + STEP, to)) {
    if (offsetAt(tz, t) !== offset) {
      hi = t;
      break;
    }
    if (t >= to) return null;
    lo = t;
  }
  // offset(lo) === offset, offset(hi) !== offset: narrow to the second.
  lo = Math.floor(lo / 1000) * 1000;
  hi = Math.floor(hi / 1000) * 1000;
  while (hi - lo > 1000) {
    const mid = Math.floor((lo + hi) / 2000) * 1000;
    if (offsetAt(tz, mid) === offset) lo = mid;
    else hi = mid;
  }
  return hi;
}

// ---- calendars --------------------------------------------------------------------------------

interface CompiledCalendar {
  second: Set<number>;
  minute: Set<number>;
  hour: Set<number>;
  dayOfMonth: Set<number>;
  month: Set<number>;
  dayOfWeek: Set<number>;
  /** null: every year */
  year: Set<number> | null;
}

function values(rs: Range[]): Set<number> {
  const out = new Set<number>();
  for (const r of rs) {
    const step = r.step && r.step > 0 ? r.step : 1;
    const end = r.end !== undefined && r.end >= r.start ? r.end : r.start;
    for (let v = r.start; v <= end; v += step) out.add(v);
  }
  return out;
}

function compileCalendar(c: StructuredCalendar): CompiledCalendar {
  return {
    second: values(c.second),
    minute: values(c.minute),
    hour: values(c.hour),
    dayOfMonth: values(c.dayOfMonth),
    month: values(c.month),
    dayOfWeek: values(c.dayOfWeek),
    year: c.year.length ? values(c.year) : null,
  };
}

function daysIn(y: number, m: number): number {
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/** First wall-clock time ≥ `wall` (epoch ms of that wall clock read as UTC) the calendar matches. */
function nextWall(c: CompiledCalendar, wall: number): number | null {
  const d0 = new Date(wall);
  let y = d0.getUTCFullYear();
  let mo = d0.getUTCMonth() + 1;
  let d = d0.getUTCDate();
  let h = d0.getUTCHours();
  let mi = d0.getUTCMinutes();
  let s = d0.getUTCSeconds();
  for (;;) {
    if (s >= 60) [mi, s] = [mi + 1, 0];
    if (mi >= 60) [h, mi] = [h + 1, 0];
    if (h >= 24) [d, h] = [d + 1, 0];
    if (d > daysIn(y, mo)) [mo, d] = [mo + 1, 1];
    if (mo > 12) [y, mo] = [y + 1, 1];
    if (y > MAX_YEAR) return null;
    if (c.year && !c.year.has(y)) {
      [y, mo, d, h, mi, s] = [y + 1, 1, 1, 0, 0, 0];
      continue;
    }
    if (!c.month.has(mo)) {
      [mo, d, h, mi, s] = [mo + 1, 1, 0, 0, 0];
      continue;
    }
    // Both the day of month and the day of week must match (unlike classic cron's "either").
    if (!c.dayOfMonth.has(d) || !c.dayOfWeek.has(new Date(Date.UTC(y, mo - 1, d)).getUTCDay())) {
      [d, h, mi, s] = [d + 1, 0, 0, 0];
      continue;
    }
    if (!c.hour.has(h)) {
      [h, mi, s] = [h + 1, 0, 0];
      continue;
    }
    if (!c.minute.has(mi)) {
      [mi, s] = [mi + 1, 0];
      continue;
    }
    if (!c.second.has(s)) {
      s++;
      continue;
    }
    return Date.UTC(y, mo - 1, d, h, mi, s);
  }
}

/**
 * First instant after `after` (whole seconds) whose wall clock in `tz` the calendar matches. Wall times
 * that do not exist (spring forward) are skipped; those that occur twice (fall back) match twice.
 */
function nextCalendarTime(c: CompiledCalendar, tz: string, after: number): number | null {
  let segStart = after;
  let first = true;
  for (let guard = 0; guard < 1000; guard++) {
    const offset = offsetAt(tz, segStart);
    const from = first
      ? Math.floor((after + offset) / 1000) * 1000 + 1000
      : Math.ceil((segStart + offset) / 1000) * 1000;
    const wall = nextWall(c, from);
    if (wall === null) return null;
    const candidate = wall - offset;
    const change = firstTransition(tz, segStart, candidate, offset);
    if (change === null) return candidate;
    // The wall clock changed offset before the candidate: look again from the change.
    segStart = change;
    first = false;
  }
  return null;
}

function matches(c: CompiledCalendar, tz: string, ms: number): boolean {
  const w = new Date(wallOf(tz, ms));
  return (
    (!c.year || c.year.has(w.getUTCFullYear())) &&
    c.month.has(w.getUTCMonth() + 1) &&
    c.dayOfMonth.has(w.getUTCDate()) &&
    c.dayOfWeek.has(w.getUTCDay()) &&
    c.hour.has(w.getUTCHours()) &&
    c.minute.has(w.getUTCMinutes()) &&
    c.second.has(w.getUTCSeconds())
  );
}

// ---- compiled spec ----------------------------------------------------------------------------

export interface CompiledSpec {
  canonical: Obj;
  tz: string;
  calendars: CompiledCalendar[];
  excludes: CompiledCalendar[];
  intervals: Array<{ every: number; phase: number }>; // seconds
  startTime: number; // 0 = none
  endTime: number; // 0 = none
  jitterMs: number;
}

export function compileSpec(spec: Obj | undefined): CompiledSpec {
  const canonical = canonicalizeSpec(spec);
  const tz = canonical.timezoneName || 'UTC';
  return {
    canonical,
    tz,
    calendars: canonical.structuredCalendar.map(compileCalendar),
    excludes: canonical.excludeStructuredCalendar.map(compileCalendar),
    intervals: canonical.interval.map((iv: Obj) => ({
      every: Math.max(1, Math.floor(msOfDur(iv.interval) / 1000)),
      phase: Math.max(0, Math.floor(msOfDur(iv.phase) / 1000)),
    })),
    startTime: tsToMs(canonical.startTime),
    endTime: tsToMs(canonical.endTime),
    jitterMs: msOfDur(canonical.jitter),
  };
}

function tsToMs(t: Obj | undefined): number {
  return t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
}

/** The earliest matching time after `after` over all calendars and intervals (no exclusions, no jitter). */
function rawNext(cs: CompiledSpec, after: number): number | null {
  let best = Number.POSITIVE_INFINITY;
  for (const c of cs.calendars) {
    const t = nextCalendarTime(c, cs.tz, after);
    if (t !== null && t < best) best = t;
  }
  const sec = Math.floor(after / 1000);
  for (const iv of cs.intervals) {
    const t = ((Math.floor((sec - iv.phase) / iv.every) + 1) * iv.every + iv.phase) * 1000;
    if (t < best) best = t;
  }
  return best === Number.POSITIVE_INFINITY ? null : best;
}

export interface NextTime {
  /** The matching time before jitter (workflow ids and TemporalScheduledStartTime use it). */
  nominal: number;
  /** When the action is taken: nominal plus jitter. */
  next: number;
}

/** 32-bit FNV-1a: a stable fingerprint for jitter. */
function fingerprint(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Jitter in [0, max): the same for the same nominal time and seed, so every replay agrees. */
export function jitterFor(seed: string, nominal: number, maxMs: number): number {
  if (maxMs <= 0) return 0;
  return Math.floor((fingerprint(`${nominal}/${seed}`) * Math.min(maxMs, 0xffffffff)) / 2 ** 32);
}

/**
 * The next action time strictly after `after`, or null when the spec has no more (end time, year 2100).
 * Jitter never moves an action past the following nominal time.
 */
export function nextTime(cs: CompiledSpec, seed: string, after: number): NextTime | null {
  if (cs.startTime) after = Math.max(after, cs.startTime - 1000);
  const pastEnd = (t: number) =>
    (cs.endTime > 0 && t > cs.endTime) || new Date(t).getUTCFullYear() > MAX_YEAR;
  let nominal: number | null = null;
  for (let i = 0; ; i++) {
    if (i >= MAX_ITERATIONS)
      throw new SpecError('schedule spec next-time search exceeded the compute iteration limit');
    nominal = rawNext(cs, after);
    if (nominal === null || pastEnd(nominal)) return null;
    if (!cs.excludes.some((x) => matches(x, cs.tz, nominal!))) break;
    after = nominal;
  }
  let maxJitter = cs.jitterMs;
  const following = rawNext(cs, nominal);
  if (following !== null) maxJitter = Math.min(maxJitter, following - nominal);
  return { nominal, next: nominal + jitterFor(seed, nominal, maxJitter) };
}

/** Action times in (start, end], at most `max` (ListScheduleMatchingTimes answers up to 1,000). */
export function matchingTimes(
  cs: CompiledSpec,
  seed: string,
  start: number,
  end: number,
  max = 1000,
): number[] {
  const out: number[] = [];
  let t = start;
  while (out.length < max) {
    const n = nextTime(cs, seed, t);
    if (!n || n.next > end) break;
    out.push(n.next);
    t = n.next;
  }
  return out;
}
