// Who is calling: an API key (looked up, cached for apiKeyCacheMs) or a signed payee token (its revocation
// looked up the same way). Public routes (`roles: []`) skip this step.
import type { Request } from 'express';
import { apiKeyAuthenticator, parseApiKey } from '../../auth/api-keys.ts';
import {
  type PayeeTokenClaims,
  payeePrincipal,
  payeeTokenChecker,
  readPayeeToken,
} from '../../auth/payee-tokens.ts';
import type { Principal } from '../../auth/principal.ts';
import type { Database } from '../../db/open.ts';
import { ApiError } from '../../http/errors.ts';
import type { Step } from './exchange.ts';
import type { RateLimiting } from './rate-limit.ts';

/** What the Authorization header claims, read without a database lookup. */
export type Presented =
  | { kind: 'none' }
  | { kind: 'payee'; claims: PayeeTokenClaims }
  | { kind: 'key'; key: string; keyId: string | undefined };

export interface AuthDeps {
  db: Database;
  tokenSigningKey: Buffer;
  now: () => Date;
  /** How long a verified key, and a token's revocation status, is trusted without a lookup. */
  cacheMs: number;
  lookup?: Parameters<typeof apiKeyAuthenticator>[0]['lookup'];
  rateLimiting: RateLimiting;
}

export interface Authentication {
  /** The credential a request presents (read once per request). */
  presentedOf(req: Request): Presented;
  step: Step;
}

export function authentication(deps: AuthDeps): Authentication {
  const authenticateKey = apiKeyAuthenticator({
    ttlMs: deps.cacheMs,
    now: () => deps.now().getTime(),
    ...(deps.lookup ? { lookup: deps.lookup } : {}),
  });
  const payeeTokenLive = payeeTokenChecker({
    schema: deps.db.schema,
    ttlMs: deps.cacheMs,
    now: () => deps.now().getTime(),
  });

  function presented(req: Request): Presented {
    const header = req.get('authorization');
    const token = (header ? /^Bearer\s+(\S+)$/i.exec(header) : null)?.[1];
    if (token?.startsWith('dpt_')) {
      const claims = readPayeeToken(deps.tokenSigningKey, token, deps.now());
      return claims ? { kind: 'payee', claims } : { kind: 'none' };
    }
    if (token?.startsWith('dsb_') && parseApiKey(token)) {
      return { kind: 'key', key: token, keyId: authenticateKey.knownKeyId(token) };
    }
    return { kind: 'none' };
  }
  const presentedKey = Symbol('presented');
  const presentedOf = (req: Request): Presented => {
    const carrier = req as Request & { [presentedKey]?: Presented };
    carrier[presentedKey] ??= presented(req);
    return carrier[presentedKey];
  };

  const step: Step = async (x, next) => {
    if (x.route.roles.length > 0) {
      const p = presentedOf(x.req);
      let principal: Principal | null = null;
      if (p.kind === 'payee') {
        principal = (await payeeTokenLive(deps.db.em(), p.claims)) ? payeePrincipal(p.claims) : null;
      } else if (p.kind === 'key') {
        principal = await authenticateKey(deps.db.em(), p.key);
        // First request of this key on this process: spent from the address; its own bucket counts it too.
        if (principal?.kind === 'api_key' && !p.keyId) {
          await deps.rateLimiting.spend(x.res, `key:${principal.keyId}`);
        }
      }
      if (!principal) {
        throw new ApiError(
          'unauthenticated',
          'Send Authorization: Bearer <API key or payee token>; the credential given is missing, unknown, revoked or expired',
          { headers: { 'WWW-Authenticate': 'Bearer' } },
        );
      }
      x.principal = principal;
    }
    await next();
  };
  return { presentedOf, step };
}
