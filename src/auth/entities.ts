import { defineEntity, p } from '@mikro-orm/postgresql';

/** API keys: only a SHA-256 of the secret is stored; `id` is the public key id embedded in the key. */
export const ApiKey = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.string().primary(),
    secretHash: p.string(),
    role: p.string(),
    actor: p.string(),
    createdAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
  },
});

/**
 * Approver TOTP secrets (encrypted with the destination keyring), the last accepted time step, and the
 * wrong-code count and lockout (see totp-lockout.ts).
 */
export const ApproverTotp = defineEntity({
  name: 'ApproverTotp',
  tableName: 'approver_totp',
  properties: {
    actor: p.string().primary(),
    secretCiphertext: p.string(),
    lastCounter: p.bigint('string').nullable(),
    failedAttempts: p.integer().default(0),
    lockCount: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    createdAt: p.datetime(),
  },
});

export const authEntities = [ApiKey, ApproverTotp];
