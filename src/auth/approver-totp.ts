// Approver two-factor: each approver has a TOTP secret (encrypted at rest with the destination keyring).
// A code is accepted for the current step ±1, and only for a step later than the last accepted one, so the
// same code cannot be replayed by the same approver. Wrong codes are counted per approver (see
// totp-lockout.ts): after too many the approver is locked out for a growing interval, right code or not.
import type { EntityManager } from '@mikro-orm/postgresql';
import { decrypt, encrypt, type Keyring } from '../crypto/index.ts';
import { ApproverTotp } from './entities.ts';
import { base32Encode, matchTotp, newTotpSecret, otpauthUri } from './totp.ts';

export interface TotpEnrolment {
  actor: string;
  /** Base32 secret for authenticator apps; shown once. */
  secretBase32: string;
  otpauthUri: string;
}

const aad = (actor: string) => `approver-totp/${actor}`;

/** Enrols (or re-enrols, with a new secret) an approver; a re-enrolment also clears a lockout. */
export async function enrollApproverTotp(
  em: EntityManager,
  keyring: Keyring,
  actor: string,
  opts: { issuer?: string; secret?: Buffer; now?: Date } = {},
): Promise<TotpEnrolment> {
  const secret = opts.secret ?? newTotpSecret();
  const ciphertext = encrypt(keyring, secret.toString('base64'), aad(actor));
  const existing = await em.findOne(ApproverTotp, { actor });
  if (existing) {
    existing.secretCiphertext = ciphertext;
    existing.lastCounter = null;
    existing.failedAttempts = 0;
    existing.lockCount = 0;
    existing.lockedUntil = null;
  } else {
    em.create(ApproverTotp, {
      actor,
      secretCiphertext: ciphertext,
      lastCounter: null,
      failedAttempts: 0,
      lockCount: 0,
      lockedUntil: null,
      createdAt: opts.now ?? new Date(),
    });
  }
  await em.flush();
  return {
    actor,
    secretBase32: base32Encode(secret),
    otpauthUri: otpauthUri(opts.issuer ?? 'Disburse', actor, secret),
  };
}

export type TotpVerdict =
  | { ok: true }
  | { ok: false; reason: 'not_enrolled' | 'invalid_code' | 'replayed' }
  | { ok: false; reason: 'locked'; lockedUntil: Date };

/**
 * Verifies an approver's code and consumes its time step (in the caller's transaction). Conditional
 * UPDATE makes two concurrent uses of one code race safely: only one sees the step as new. A locked
 * approver is refused before the code is looked at; an accepted code clears the wrong-code count. Wrong
 * codes are not counted here (the caller's transaction rolls back on a refusal): see recordTotpFailure.
 */
export async function verifyApproverTotp(
  em: EntityManager,
  keyring: Keyring,
  actor: string,
  code: string,
  now = new Date(),
): Promise<TotpVerdict> {
  const row = await em.findOne(ApproverTotp, { actor });
  if (!row) return { ok: false, reason: 'not_enrolled' };
  if (row.lockedUntil && row.lockedUntil > now)
    return { ok: false, reason: 'locked', lockedUntil: row.lockedUntil };
  const secret = Buffer.from(decrypt(keyring, row.secretCiphertext, aad(actor)), 'base64');
  const counter = matchTotp(secret, code, Math.floor(now.getTime() / 1000));
  if (counter === null) return { ok: false, reason: 'invalid_code' };
  const updated = await em.nativeUpdate(
    ApproverTotp,
    { actor, $or: [{ lastCounter: null }, { lastCounter: { $lt: counter.toString() } }] },
    { lastCounter: counter.toString(), failedAttempts: 0, lockCount: 0 },
  );
  return updated === 1 ? { ok: true } : { ok: false, reason: 'replayed' };
}
