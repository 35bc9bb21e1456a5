export {
  aggregateEvents,
  applyBps,
  buildContext,
  type CalculationContext,
  calculatePeriod,
  type EarningsEvent,
  type EarningsType,
  type PayeeActivity,
  type Statement,
  statementsFor,
  type TreeNode,
} from './calculate.ts';
export { type Plan, PlanInvalid, parsePlan, planSchema } from './plan.ts';
export { loadPlans, PlanNotFound, PlanRegistry } from './registry.ts';
