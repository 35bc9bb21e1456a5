// Idempotency-Key on writes (semantics in src/http/idempotency.ts): the same key and request answer the
// stored response (Idempotent-Replayed: true), the same key with another request is 422, a duplicate still
// running is 409. A response carrying a secret is stored sealed to (caller, key).
import { decrypt, encrypt, type Keyring } from '../../crypto/index.ts';
import type { Database } from '../../db/open.ts';
import { ApiError, errorKinds } from '../../http/errors.ts';
import {
  claimIdempotencyKey,
  IDEMPOTENCY_KEY_PATTERN,
  requestHash,
  runUnderLease,
  type StoredResponse,
  saveIdempotentResponse,
} from '../../http/idempotency.ts';
import type { Logger } from '../../observability/log.ts';
import { mapError } from '../problem.ts';
import type { RouteResult } from '../route.ts';
import { describeCause, type Exchange, type Step } from './exchange.ts';

/** The header checked before any transaction opens: required on POST unless the route makes it optional. */
export const idempotencyKeyCheck: Step = async (x, next) => {
  if (x.route.method !== 'get') {
    const key = x.req.get('idempotency-key');
    if (key === undefined && x.route.method === 'post' && x.route.idempotency !== 'optional') {
      throw new ApiError(
        'idempotency_key_missing',
        'Send an Idempotency-Key header (8-200 characters, unique per request)',
      );
    }
    if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
      throw new ApiError(
        'validation_failed',
        'Idempotency-Key must be 8-200 characters of letters, digits and . _ : -',
        { errors: [{ path: 'headers.idempotency-key', message: 'invalid format', code: 'invalid_format' }] },
      );
    }
    x.idempotencyKey = key;
  }
  await next();
};

export interface IdempotencyDeps {
  db: Database;
  keyring: Keyring;
  log: Logger;
  now: () => Date;
}

/** Replays or stores the answer under the key; runs inside transaction.ts's transaction unless leased. */
export function idempotentResponses(deps: IdempotencyDeps): Step {
  return async (x, next) => {
    const key = x.idempotencyKey;
    if (x.route.method === 'get' || key === undefined) return next();
    const actor = x.principal?.actor ?? 'anonymous';
    const claim = {
      actor,
      key,
      hash: requestHash(x.route.method, x.req.path, x.sentBody ?? {}),
      method: x.route.method.toUpperCase(),
      path: x.req.path,
    };
    const sensitive = x.route.sensitiveResponse === true;
    const context = `idempotency/${actor}/${key}`;
    const replayed = (stored: StoredResponse): RouteResult => ({
      ...stored,
      body: sensitive ? openSealed(deps.keyring, stored.body, context) : stored.body,
      headers: { ...stored.headers, 'Idempotent-Replayed': 'true' },
    });
    const toStore = (fresh: RouteResult): StoredResponse => ({
      status: fresh.status,
      body: sensitive ? seal(deps.keyring, fresh.body ?? null, context) : (fresh.body ?? null),
      headers: fresh.headers ?? {},
    });
    const handled = async (): Promise<RouteResult> => {
      await next();
      return resultOf(x);
    };

    if (x.route.idempotencyMode === 'lease') {
      // No transaction: the claim, the handler's statements and the stored response each commit alone.
      const outcome = await runUnderLease({
        em: () => deps.db.em(),
        schema: deps.db.schema,
        claim,
        handler: (untilKeyHeld) => {
          x.untilKeyHeld = untilKeyHeld;
          return handled();
        },
        toStore,
        refused: (error) => errorKinds[mapError(error).kind].status < 500,
        onReleaseError: (e) =>
          deps.log.error('idempotency.release_failed', { requestId: x.requestId, error: describeCause(e) }),
      });
      x.result = 'replay' in outcome ? replayed(outcome.replay) : outcome.fresh;
      return;
    }
    const replay = await claimIdempotencyKey(x.em, claim);
    if (replay) {
      x.result = replayed(replay);
      return;
    }
    const fresh = await handled();
    await saveIdempotentResponse(x.em, { ...claim, response: toStore(fresh) }, deps.now());
  };
}

function resultOf(x: Exchange): RouteResult {
  if (!x.result) throw new Error(`${x.route.method} ${x.route.path}: the handler gave no answer`);
  return x.result;
}

function seal(keyring: Keyring, body: unknown, context: string): unknown {
  return { sealed: encrypt(keyring, JSON.stringify(body), context) };
}

function openSealed(keyring: Keyring, stored: unknown, context: string): unknown {
  const sealed = (stored as { sealed?: unknown } | null)?.sealed;
  if (typeof sealed !== 'string') return stored;
  return JSON.parse(decrypt(keyring, sealed, context));
}
