export type { LocalDateTime, PayoutCalendar, Weekday } from './calendar.ts';
export {
  CalendarError,
  fromLocal,
  nextPayoutWindow,
  toLocal,
  validateCalendar,
  WEEKDAYS,
  weekdayOf,
} from './calendar.ts';
export { HEALTH_WAIT_MS, rankInputs } from './inputs.ts';
export type { RailDecision, RailDecisionInput, RailDecisionReason } from './rail.ts';
export { decideRail } from './rail.ts';
export type { Exclusion, ExclusionCode, RankedCandidate, RankInput, Ranking, RouteRequest } from './rank.ts';
export { providerCost, rankProviders, unsupportedReasons } from './rank.ts';
