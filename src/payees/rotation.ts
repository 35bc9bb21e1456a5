// Key rotation: re-encrypts every envelope written under an older key with the active one, in batches.
// Run after putting a new key first in DISBURSE_ENCRYPTION_KEYS; once it reports 0 left, the old key can go.
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApproverTotp } from '../auth/entities.ts';
import { type Keyring, reencrypt } from '../crypto/index.ts';
import { Payee, PayeeDestination } from './entities.ts';

export interface RotationReport {
  destinations: number;
  taxTins: number;
  approverTotpSecrets: number;
}

export async function rotateEncryption(
  em: EntityManager,
  keyring: Keyring,
  batchSize = 500,
): Promise<RotationReport> {
  const report: RotationReport = { destinations: 0, taxTins: 0, approverTotpSecrets: 0 };
  const active = keyring.activeKid;
  for (;;) {
    const n = await em.transactional(async (tx) => {
      const rows = await tx.find(PayeeDestination, { keyId: { $ne: active } }, { limit: batchSize });
      for (const d of rows) {
        d.ciphertext = reencrypt(keyring, d.ciphertext, `payee-destination/${d.payeeId}/${d.kind}`);
        d.keyId = active;
      }
      return rows.length;
    });
    report.destinations += n;
    if (n < batchSize) break;
  }
  // TINs and TOTP secrets are few; the key id is read from the envelope itself.
  await em.transactional(async (tx) => {
    for (const p of await tx.find(Payee, { taxTinCiphertext: { $ne: null } })) {
      const next = reencrypt(keyring, p.taxTinCiphertext!, `payee-tin/${p.id}`);
      if (next !== p.taxTinCiphertext) {
        p.taxTinCiphertext = next;
        report.taxTins++;
      }
    }
    for (const t of await tx.find(ApproverTotp, {})) {
      const next = reencrypt(keyring, t.secretCiphertext, `approver-totp/${t.actor}`);
      if (next !== t.secretCiphertext) {
        t.secretCiphertext = next;
        report.approverTotpSecrets++;
      }
    }
  });
  return report;
}
