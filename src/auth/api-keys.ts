// API keys: `dsb_<keyId>_<secret>`. The key id (public, 16 hex chars) finds the row; the secret (32 random
// bytes) is only ever stored as SHA-256 — a high-entropy secret needs no slow hash — and compared in
// constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ApiKey } from './entities.ts';
import { type ApiKeyRole, apiKeyRoles, type Principal } from './principal.ts';

const KEY_PATTERN = /^dsb_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface CreatedApiKey {
  keyId: string;
  role: ApiKeyRole;
  actor: string;
  /** The full key: shown once, never stored. */
  key: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function parseApiKey(key: string): { keyId: string; secret: string } | null {
  const m = KEY_PATTERN.exec(key);
  return m ? { keyId: m[1]!, secret: m[2]! } : null;
}

export function generateApiKey(): { keyId: string; secret: string; key: string } {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, secret, key: `dsb_${keyId}_${secret}` };
}

export function checkRoleAndActor(role: string, actor: string): asserts role is ApiKeyRole {
  if (!(apiKeyRoles as readonly string[]).includes(role)) {
    throw new Error(`role must be one of ${apiKeyRoles.join(', ')} (got "${role}")`);
  }
  if (!/^[A-Za-z0-9._@:-]{1,100}$/.test(actor)) {
    throw new Error(`actor must be 1-100 characters of letters, digits and . _ @ : - (got "${actor}")`);
  }
}

/** Creates a key with a fresh secret; returns the full key once. */
export async function createApiKey(
  em: EntityManager,
  input: { role: string; actor: string },
  now = new Date(),
): Promise<CreatedApiKey> {
  return storeApiKey(em, { ...input, key: generateApiKey().key }, now);
}

/**
 * Stores a key whose full text is given (bootstrap keys from configuration). Idempotent for the same key;
 * refuses a key id already registered with another secret, role or actor.
 */
export async function storeApiKey(
  em: EntityManager,
  input: { role: string; actor: string; key: string },
  now = new Date(),
): Promise<CreatedApiKey> {
  checkRoleAndActor(input.role, input.actor);
  const parsed = parseApiKey(input.key);
  if (!parsed) throw new Error('API key must look like dsb_<16 hex>_<43 base64url characters>');
  const existing = await em.findOne(ApiKey, { id: parsed.keyId });
  const secretHash = hashSecret(parsed.secret);
  if (existing) {
    if (
      existing.secretHash !== secretHash ||
      existing.role !== input.role ||
      existing.actor !== input.actor
    ) {
      throw new Error(
        `API key id ${parsed.keyId} is already registered with a different secret, role or actor`,
      );
    }
  } else {
    em.create(ApiKey, {
      id: parsed.keyId,
      secretHash,
      role: input.role,
      actor: input.actor,
      createdAt: now,
      revokedAt: null,
    });
    await em.flush();
  }
  return { keyId: parsed.keyId, role: input.role, actor: input.actor, key: input.key };
}

export async function revokeApiKey(em: EntityManager, keyId: string, now = new Date()): Promise<boolean> {
  const row = await em.findOne(ApiKey, { id: keyId, revokedAt: null });
  if (!row) return false;
  row.revokedAt = now;
  await em.flush();
  return true;
}

/** Resolves a presented key to its principal, or null (unknown, revoked or wrong secret). */
export async function authenticateApiKey(em: EntityManager, key: string): Promise<Principal | null> {
  const parsed = parseApiKey(key);
  if (!parsed) return null;
  const row = await em.findOne(ApiKey, { id: parsed.keyId });
  if (!row || row.revokedAt) return null;
  const given = Buffer.from(hashSecret(parsed.secret), 'hex');
  const stored = Buffer.from(row.secretHash, 'hex');
  if (given.length !== stored.length || !timingSafeEqual(given, stored)) return null;
  return { kind: 'api_key', role: row.role as ApiKeyRole, actor: row.actor, keyId: row.id };
}

/**
 * authenticateApiKey behind a short memory: a key verified less than `ttlMs` ago is accepted without a
 * database round trip (every request authenticates; most come from a few keys). Only successes are kept,
 * keyed by a hash of the key, at most `maxEntries`. The price: a revoked key keeps working on an API
 * process for up to `ttlMs`. `ttlMs` 0 turns the memory off.
 *
 * `knownKeyId(key)` answers, with no database access, the key id of a key that has verified on this
 * process before (whatever `ttlMs`): the rate limiter charges such a key to its own bucket, and anything
 * else (a key never verified here, a guessed one) to the client's address before it is looked up.
 */
export function apiKeyAuthenticator(o: {
  ttlMs: number;
  maxEntries?: number;
  now?: () => number;
  /** The database lookup (default authenticateApiKey). */
  lookup?: (em: EntityManager, key: string) => Promise<Principal | null>;
}) {
  const now = o.now ?? Date.now;
  const max = o.maxEntries ?? 10_000;
  const lookup = o.lookup ?? authenticateApiKey;
  const verified = new Map<string, { principal: Principal; until: number }>();
  const known = new Map<string, string>();
  const remember = <V>(map: Map<string, V>, id: string, value: V) => {
    map.delete(id);
    // Map keeps insertion order: the first entry is the oldest.
    if (map.size >= max) map.delete(map.keys().next().value!);
    map.set(id, value);
  };
  const authenticate = async (em: EntityManager, key: string): Promise<Principal | null> => {
    const id = hashSecret(key);
    const hit = verified.get(id);
    if (o.ttlMs > 0 && hit && hit.until > now()) return hit.principal;
    verified.delete(id);
    const principal = await lookup(em, key);
    if (principal?.kind === 'api_key') {
      remember(known, id, principal.keyId);
      if (o.ttlMs > 0) remember(verified, id, { principal, until: now() + o.ttlMs });
    }
    return principal;
  };
  return Object.assign(authenticate, {
    knownKeyId: (key: string): string | undefined => known.get(hashSecret(key)),
  });
}

/** `role:actor:key` entries, comma separated (DISBURSE_BOOTSTRAP_API_KEYS). */
export function parseBootstrapKeys(spec: string | undefined): { role: string; actor: string; key: string }[] {
  if (!spec) return [];
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [role, actor, key, ...rest] = entry.split(':');
      if (!role || !actor || !key || rest.length > 0) {
        throw new Error('each bootstrap API key must be role:actor:key (e.g. platform:acme-backend:dsb_…)');
      }
      checkRoleAndActor(role, actor);
      if (!parseApiKey(key))
        throw new Error(`bootstrap key for ${actor}: must look like dsb_<16 hex>_<43 chars>`);
      return { role, actor, key };
    });
}
