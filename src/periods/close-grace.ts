// The grace window between a period's end and its scheduled close (PERIOD_CLOSE_GRACE): late events are
// still booked in the period meanwhile. Pure, for the configuration and src/periods/schedule.ts.
import type { CalendarKind } from './calendar.ts';

const SECOND = 1000;
const DAY = 86_400_000;

/** The grace window must end before the next period does: shorter than the shortest period of the kind. */
export const MAX_GRACE_MS: Record<CalendarKind, number> = {
  weekly: 7 * DAY - SECOND,
  semi_monthly: 13 * DAY - SECOND, // a second half starts on the 16th; February has 28 days
  monthly: 28 * DAY - SECOND,
};

/** Why a grace window does not fit the calendar, or null. */
export function graceProblem(kind: CalendarKind, graceMs: number): string | null {
  if (graceMs % SECOND !== 0) return 'must be whole seconds';
  if (graceMs < 0 || graceMs > MAX_GRACE_MS[kind])
    return `must be shorter than a ${kind.replace('_', '-')} period (at most ${MAX_GRACE_MS[kind] / SECOND}s)`;
  return null;
}
