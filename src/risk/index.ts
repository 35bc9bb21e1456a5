export type { RiskAssessment, RiskFacts, RiskReason, RiskReasonCode, RiskRulesConfig } from './rules.ts';
export { assessRisk, multipleInHundredths, RiskConfigError } from './rules.ts';
