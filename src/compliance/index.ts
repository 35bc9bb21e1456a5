export type {
  ComplianceFacts,
  CompliancePolicy,
  ComplianceReason,
  ComplianceReasonCode,
  ComplianceResult,
  KycStatus,
  TaxForm,
} from './check.ts';
export { checkCompliance } from './check.ts';
export type { SanctionsEntry, SanctionsList, SanctionsMatch } from './sanctions.ts';
export {
  buildSanctionsList,
  loadSanctionsList,
  normaliseName,
  normaliseScreenedIdentifier,
  parseSanctionsCsv,
  SanctionsListError,
} from './sanctions.ts';
export { confusablesOf, screeningFold } from './skeleton.ts';
