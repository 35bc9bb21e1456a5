// Compliance gate for a payout: KYC, tax form (withholding), sanctions. Pure: the caller passes the
// payee's facts and the loaded sanctions list.
import type { SanctionsList } from './sanctions.ts';

export type KycStatus = 'verified' | 'pending' | 'rejected' | 'not_started';
export type TaxForm = 'W9' | 'W8BEN' | 'none';

export type ComplianceReasonCode = 'kyc_not_verified' | 'sanctions_name_match' | 'sanctions_identifier_match';

export interface ComplianceReason {
  code: ComplianceReasonCode;
  message: string;
}

export interface ComplianceFacts {
  kycStatus: KycStatus | string;
  taxForm: TaxForm;
  payeeName: string;
  /** Decrypted destination identifiers (IBAN, wallet id, address…); used for matching only, never echoed. */
  destinationIdentifiers: string[];
}

export interface CompliancePolicy {
  sanctions: SanctionsList;
  /** Backup withholding applied when no tax form is on file, in basis points (e.g. 2400 = 24%). */
  withholdingRateBps: number;
}

export interface ComplianceResult {
  /** Non-empty → the payout waits for a complianceCleared signal (or is released after the wait). */
  blocked: ComplianceReason[];
  /** Withholding to apply (0 when a tax form is on file). Not a block. */
  withholdingBps: number;
}

export function checkCompliance(facts: ComplianceFacts, policy: CompliancePolicy): ComplianceResult {
  const blocked: ComplianceReason[] = [];
  if (facts.kycStatus !== 'verified') {
    blocked.push({
      code: 'kyc_not_verified',
      message: `payee KYC status is "${facts.kycStatus}", must be "verified"`,
    });
  }
  const nameHit = policy.sanctions.matchName(facts.payeeName);
  if (nameHit) {
    blocked.push({
      code: 'sanctions_name_match',
      message: `payee name matches sanctions entry ${nameHit.source} ${nameHit.reference}`.trim(),
    });
  }
  for (const id of facts.destinationIdentifiers) {
    const hit = policy.sanctions.matchIdentifier(id);
    if (hit) {
      // The identifier itself is not repeated: reasons end up in workflow history and webhooks.
      blocked.push({
        code: 'sanctions_identifier_match',
        message: `destination matches sanctions entry ${hit.source} ${hit.reference}`.trim(),
      });
      break;
    }
  }
  const withholdingBps = facts.taxForm === 'none' ? policy.withholdingRateBps : 0;
  return { blocked, withholdingBps };
}
