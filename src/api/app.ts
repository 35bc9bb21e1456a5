// The HTTP API: an Express 5 app built from the route registry. Every request goes through one pipeline:
// request id → rate limit (shared buckets, by what the credential says without a database lookup) →
// authenticate → role → validate params → payee access → validate query/body → (idempotency + transaction
// for writes) → handler → response validated against its schema → log line.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { recordAudit } from '../audit/audit.ts';
import { apiKeyAuthenticator, parseApiKey } from '../auth/api-keys.ts';
import { type TotpVerdict, verifyApproverTotp } from '../auth/approver-totp.ts';
import {
  type PayeeTokenClaims,
  payeePrincipal,
  payeeTokenChecker,
  readPayeeToken,
} from '../auth/payee-tokens.ts';
import { canAccessPayee, type Principal } from '../auth/principal.ts';
import type { SecurityContext } from '../auth/security-context.ts';
import { recordTotpFailure } from '../auth/totp-lockout.ts';
import { decrypt, encrypt, type Keyring } from '../crypto/index.ts';
import type { Database } from '../db/open.ts';
import { sql } from '../db/sql.ts';
import { ApiError, errorKinds, type FieldError } from '../http/errors.ts';
import {
  claimIdempotencyKey,
  IDEMPOTENCY_KEY_PATTERN,
  requestHash,
  runUnderLease,
  type StoredResponse,
  saveIdempotentResponse,
} from '../http/idempotency.ts';
import { createLogger, type Logger } from '../observability/log.ts';
import { httpDuration } from '../observability/metrics.ts';
import { serveMetrics } from '../observability/metrics-http.ts';
import { withRequestId } from '../observability/request-context.ts';
import { inRequestSpan } from '../observability/spans.ts';
import { answerClientErrors } from './client-errors.ts';
import { controlCharErrors } from './control-chars.ts';
import { buildOpenApi } from './openapi.ts';
import { mapError, mapRequestError, toProblem, zodFieldErrors } from './problem.ts';
import { type RateDecision, type RateLimiter, rateLimitHeaders, SharedRateLimiter } from './rate-limit.ts';
import { defineRoute, type Route, type RouteContext, type RouteResult } from './route.ts';
import { healthRoutes } from './routes/health.ts';

export type { SecurityContext } from '../auth/security-context.ts';

export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency is usable; rejects (or times out) otherwise. */
  check(): Promise<void>;
}

export interface AppDeps {
  db: Database;
  security: SecurityContext;
  /** Routes served by this app (payees, wallet, payouts, …); health and OpenAPI are always added. */
  routes: readonly Route[];
  bodyLimitBytes?: number;
  rateLimit?: { ratePerSecond: number; burst: number };
  /** Buckets (default: SharedRateLimiter on `db` with `rateLimit`). */
  rateLimiter?: RateLimiter;
  /** Express `trust proxy` (API_TRUST_PROXY): which X-Forwarded-For hops give the client address. */
  trustProxy?: TrustProxy;
  /**
   * How long a verified API key, and a payee token's revocation status, is trusted without a database
   * lookup (default 0: every request looks).
   */
  apiKeyCacheMs?: number;
  /** The API key lookup (default authenticateApiKey; tests count lookups through it). */
  apiKeyLookup?: Parameters<typeof apiKeyAuthenticator>[0]['lookup'];
  logger?: Logger;
  /** Extra readiness checks (e.g. Temporal); the database check is built in. */
  readinessChecks?: readonly ReadinessCheck[];
  now?: () => Date;
  info?: { title: string; version: string; description: string };
  /** Operations served in front of this app (outside the registry), documented by hand in /openapi.json. */
  openApiPaths?: Parameters<typeof buildOpenApi>[2];
  /** Bearer token GET /metrics requires (METRICS_TOKEN); without it /metrics is open. */
  metricsToken?: string;
}

export interface DisburseApp {
  app: express.Express;
  routes: readonly Route[];
  openapi: ReturnType<typeof buildOpenApi>;
  /** Middleware spending from this app's buckets under the key `bucketOf` gives (routes in front of it). */
  limit(bucketOf: (req: Request) => string): express.RequestHandler;
}

/** false (the TCP peer is the client), true, a hop count, or addresses/subnets of trusted proxies. */
export type TrustProxy = boolean | number | string;

/** What the Authorization header claims, read without a database lookup. */
type Presented =
  | { kind: 'none' }
  | { kind: 'payee'; claims: PayeeTokenClaims }
  | { kind: 'key'; key: string; keyId: string | undefined };

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;
/** Request body limit when none is configured (API_BODY_LIMIT_BYTES sets it). */
export const DEFAULT_BODY_LIMIT_BYTES = 100 * 1024;
const PROBLEM_JSON = 'application/problem+json';

export function databaseReadiness(db: Database): ReadinessCheck {
  return { name: 'database', check: async () => void (await sql(db.em(), 'SELECT 1')) };
}

export function createApp(deps: AppDeps): DisburseApp {
  const log = deps.logger ?? createLogger();
  const now = deps.now ?? (() => new Date());
  const limiter =
    deps.rateLimiter ??
    new SharedRateLimiter({
      ...(deps.rateLimit ?? { ratePerSecond: 200, burst: 400 }),
      db: deps.db,
      now: () => now().getTime(),
      onStoreError: (error) =>
        error
          ? log.warn('rate_limit.store_unreachable', {
              error: describeCause(error),
              fallback: 'per-process buckets until the store answers',
            })
          : log.info('rate_limit.store_back', {}),
    });
  const bodyLimit = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const authenticateKey = apiKeyAuthenticator({
    ttlMs: deps.apiKeyCacheMs ?? 0,
    now: () => now().getTime(),
    ...(deps.apiKeyLookup ? { lookup: deps.apiKeyLookup } : {}),
  });
  const payeeTokenLive = payeeTokenChecker({
    schema: deps.db.schema,
    ttlMs: deps.apiKeyCacheMs ?? 0,
    now: () => now().getTime(),
  });
  const readiness = [databaseReadiness(deps.db), ...(deps.readinessChecks ?? [])];
  const info = deps.info ?? {
    title: 'Disburse API',
    version: '0.1.0',
    description: 'Payout orchestration: payees, wallets, payouts, approvals.',
  };

  let openapi: ReturnType<typeof buildOpenApi> | undefined;
  const openapiRoute = defineRoute({
    method: 'get',
    path: '/openapi.json',
    summary: 'OpenAPI 3.1 document of this API',
    tags: ['meta'],
    roles: [],
    responses: {
      200: {
        description: 'The OpenAPI document',
        schema: z.record(z.string(), z.unknown()).describe('OpenAPI 3.1 document'),
      },
    },
    handler: async () => ({ status: 200, body: openapi }),
  });
  const routes: Route[] = [...healthRoutes(readiness, log), openapiRoute, ...deps.routes];
  const seen = new Set<string>();
  for (const r of routes) {
    const id = `${r.method} ${r.path}`;
    if (seen.has(id)) throw new Error(`Route ${id} is defined twice`);
    seen.add(id);
  }
  openapi = buildOpenApi(routes, info, deps.openApiPaths);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', deps.trustProxy ?? false);
  // The raw bytes are kept for routes that verify a signature over them (provider webhooks).
  const keepRaw = (req: unknown, _res: unknown, buf: Buffer) => {
    (req as { rawBody?: Buffer }).rawBody = buf;
  };
  const jsonParser = express.json({ limit: bodyLimit, strict: true, type: () => true, verify: keepRaw });

  // Routes that take large batches (earnings ingestion) declare their own limit.
  const parsers = new Map<number, typeof jsonParser>();
  const parserFor = (limit: number | undefined) => {
    if (limit === undefined) return jsonParser;
    let p = parsers.get(limit);
    if (!p) {
      p = express.json({ limit, strict: true, type: () => true, verify: keepRaw });
      parsers.set(limit, p);
    }
    return p;
  };
  const parseBody = (req: Request, res: Response, limit?: number) =>
    new Promise<void>((resolve, reject) => {
      parserFor(limit)(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
    });

  function presented(req: Request): Presented {
    const header = req.get('authorization');
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    const token = m?.[1];
    if (token?.startsWith('dpt_')) {
      const claims = readPayeeToken(deps.security.tokenSigningKey, token, now());
      return claims ? { kind: 'payee', claims } : { kind: 'none' };
    }
    if (token?.startsWith('dsb_') && parseApiKey(token)) {
      return { kind: 'key', key: token, keyId: authenticateKey.knownKeyId(token) };
    }
    return { kind: 'none' };
  }

  /**
   * The bucket a request spends from, known before any lookup: a signed payee token's payee, a key that
   * verified on this process before; anything else (no credential, a key never seen, a guessed one) the
   * client address — so a flood of invalid keys is refused before each is looked up.
   */
  function bucketOf(p: Presented, req: Request): string {
    if (p.kind === 'payee') return `payee:${p.claims.payeeId}`;
    if (p.kind === 'key' && p.keyId) return `key:${p.keyId}`;
    return `ip:${req.ip}`;
  }

  function rateLimited(d: RateDecision): ApiError {
    return new ApiError('rate_limited', `Rate limit exceeded; retry after ${d.retryAfterSeconds} s`, {
      headers: rateLimitHeaders(d),
    });
  }

  /** Spends one token; sets the RateLimit-* headers; throws rate_limited when the bucket is empty. */
  async function spend(res: Response, bucket: string): Promise<void> {
    const d = await limiter.take(bucket);
    for (const [k, v] of Object.entries(rateLimitHeaders(d))) res.setHeader(k, v);
    if (!d.allowed) throw rateLimited(d);
  }

  async function authenticate(req: Request, res: Response): Promise<Principal | null> {
    const p = presentedOf(req);
    if (p.kind === 'payee') {
      return (await payeeTokenLive(deps.db.em(), p.claims)) ? payeePrincipal(p.claims) : null;
    }
    if (p.kind !== 'key') return null;
    const principal = await authenticateKey(deps.db.em(), p.key);
    // First request of this key on this process: spent from the address; its own bucket counts it too.
    if (principal?.kind === 'api_key' && !p.keyId) await spend(res, `key:${principal.keyId}`);
    return principal;
  }

  const presentedKey = Symbol('presented');
  const presentedOf = (req: Request): Presented => {
    const carrier = req as Request & { [presentedKey]?: Presented };
    carrier[presentedKey] ??= presented(req);
    return carrier[presentedKey];
  };

  /** Answers 429 problem+json itself (this runs in front of the route handlers and their error handling). */
  function limit(bucket: (req: Request) => string): express.RequestHandler {
    return async (req, res, next) => {
      try {
        await spend(res, bucket(req));
        next();
      } catch (caught) {
        const mapped = mapRequestError(caught) ?? mapError(caught);
        const errorId = randomUUID();
        const problem = toProblem(mapped, req.originalUrl.split('?')[0]!, errorId);
        for (const [k, v] of Object.entries(mapped.headers ?? {})) res.setHeader(k, v);
        log.info('request', {
          method: req.method,
          path: req.path,
          status: problem.status,
          errorId,
          errorKind: mapped.kind,
        });
        res.status(problem.status).type(PROBLEM_JSON).send(JSON.stringify(problem));
      }
    };
  }
  // Every request, public routes and unknown paths included, spends from a bucket first.
  app.use(limit((req) => bucketOf(presentedOf(req), req)));
  // Prometheus scrapes (outside the route registry: text exposition, its own bearer token).
  app.get('/metrics', (req, res) =>
    serveMetrics(req, res, {
      db: deps.db,
      token: deps.metricsToken,
      onError: (error) => log.error('metrics.scrape_failed', { error: describeCause(error) }),
    }),
  );

  function validate<S extends z.ZodType | undefined>(
    schema: S,
    value: unknown,
    where: 'params' | 'query' | 'body',
    multiline?: ReadonlySet<string>,
  ): unknown {
    if (!schema) return undefined;
    const control = controlCharErrors(value, where, multiline);
    const r = control.length === 0 ? schema.safeParse(value) : undefined;
    if (r?.success) return r.data;
    const errors: FieldError[] = r ? zodFieldErrors(where, r.error) : control;
    throw new ApiError(
      'validation_failed',
      `Invalid ${where}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
      {
        errors,
      },
    );
  }

  function send(res: Response, result: RouteResult, contentType?: string, sensitive = false) {
    // A response carrying a secret (a token) must not be kept by any cache on the way.
    if (sensitive) res.setHeader('Cache-Control', 'no-store');
    for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
    res.status(result.status);
    if (result.body === undefined || result.status === 204) return void res.end();
    if (contentType && contentType !== 'application/json') {
      res.type(contentType).send(result.body);
    } else {
      res.type('application/json').send(JSON.stringify(result.body));
    }
  }

  /**
   * Counts and audits a refused TOTP code on a connection of its own (the request's transaction rolls back
   * with the refusal), then throws the refusal. Called only after that transaction has ended (TotpRefusal):
   * on the embedded database a second connection waits for an open transaction, so counting inside it hung
   * every request that sent a wrong code, and every request after it.
   */
  async function refuseTotp(
    verdict: Exclude<TotpVerdict, { ok: true }>,
    principal: Principal,
    requestId: string,
    at: Date,
  ): Promise<never> {
    if (verdict.reason === 'not_enrolled') {
      throw new ApiError(
        'totp_invalid',
        `${principal.actor} has no TOTP secret enrolled: run npm run auth:create-key -- --totp`,
      );
    }
    const state = await recordTotpFailure(
      deps.db.em(),
      { actor: principal.actor, role: principal.role, requestId, reason: verdict.reason, now: at },
      deps.security.totpLock,
    );
    const lockedUntil =
      verdict.reason === 'locked' ? verdict.lockedUntil : state.locked ? state.lockedUntil : null;
    if (lockedUntil) {
      const seconds = Math.max(1, Math.ceil((lockedUntil.getTime() - at.getTime()) / 1000));
      throw new ApiError(
        'totp_locked',
        `Too many wrong TOTP codes: ${principal.actor} is locked out until ${lockedUntil.toISOString()}; an operator can unlock with POST /v1/approvers/${principal.actor}/totp/unlock`,
        { headers: { 'Retry-After': String(seconds) } },
      );
    }
    throw new ApiError(
      'totp_invalid',
      verdict.reason === 'replayed'
        ? 'This TOTP code was already used; wait for the next code'
        : 'The TOTP code is wrong or outside the ±30 s window; check the device clock',
    );
  }

  const multilineFields = new Map(routes.map((r) => [r, new Set(r.multilineFields ?? [])]));

  function handlerFor(route: Route) {
    const mutating = route.method !== 'get';
    return async (req: Request, res: Response) => {
      const started = performance.now();
      const requestId = REQUEST_ID.test(req.get('x-request-id') ?? '')
        ? req.get('x-request-id')!
        : randomUUID();
      res.setHeader('X-Request-Id', requestId);
      let principal: Principal | null = null;
      let errorFields: Record<string, unknown> = {};
      let status = 500;
      try {
        // Authentication (the request has spent from its bucket already: see limit()).
        if (route.roles.length > 0) {
          principal = await authenticate(req, res);
          if (!principal) {
            throw new ApiError(
              'unauthenticated',
              'Send Authorization: Bearer <API key or payee token>; the credential given is missing, unknown, revoked or expired',
              { headers: { 'WWW-Authenticate': 'Bearer' } },
            );
          }
          if (!route.roles.includes(principal.role)) {
            throw new ApiError(
              'forbidden',
              `Role ${principal.role} may not ${route.method.toUpperCase()} ${route.path} (allowed: ${route.roles.join(', ')})`,
            );
          }
        }
        const assertPayeeAccess = (payeeId: string, notFound = `Payee ${payeeId} not found`) => {
          if (principal && !canAccessPayee(principal, payeeId)) throw new ApiError('not_found', notFound);
        };

        const params = validate(route.params, { ...req.params }, 'params') as
          | Record<string, unknown>
          | undefined;
        if (route.payeeParam) assertPayeeAccess(String(params?.[route.payeeParam]));
        const query = validate(route.query, { ...(req.query as object) }, 'query');

        let rawBody: unknown;
        if (mutating) {
          const hasBody =
            Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
          if (hasBody) {
            if (!req.is('application/json')) {
              throw new ApiError('unsupported_media_type', 'Send the body as Content-Type: application/json');
            }
            await parseBody(req, res, route.bodyLimitBytes);
            rawBody = req.body;
          }
          if (route.body === undefined && rawBody !== undefined && !isEmptyObject(rawBody)) {
            throw new ApiError('validation_failed', 'This endpoint takes no request body', {
              errors: [{ path: 'body', message: 'must be empty', code: 'unexpected_body' }],
            });
          }
        }
        const bodySchema = route.bodyByParam
          ? (route.bodyByParam.schemas[String(params?.[route.bodyByParam.param])] ?? route.body)
          : route.body;
        const body = bodySchema
          ? validate(bodySchema, rawBody ?? {}, 'body', multilineFields.get(route))
          : undefined;

        const base = {
          params,
          query,
          body,
          principal: principal as Principal,
          requestId,
          req,
          rawBody: (req as { rawBody?: Buffer }).rawBody,
          assertPayeeAccess,
        };
        const run = async (
          em: ReturnType<Database['em']>,
          untilKeyHeld: () => Promise<void> = async () => {},
        ): Promise<RouteResult> => {
          const ctx: RouteContext<unknown, unknown, unknown> = {
            ...base,
            em,
            untilKeyHeld,
            now: now(),
            log: log.child({ requestId }),
            verifyApproverTotp: async (code) => {
              if (principal?.kind !== 'api_key') {
                throw new ApiError(
                  'totp_invalid',
                  'Only approvers with an API key can give a two-factor code',
                );
              }
              if (!code)
                throw new ApiError(
                  'totp_invalid',
                  'A 6-digit TOTP code from your authenticator app is required',
                );
              const at = now();
              const verdict = await verifyApproverTotp(em, deps.security.keyring, principal.actor, code, at);
              const approver = principal;
              if (!verdict.ok) throw new TotpRefusal(() => refuseTotp(verdict, approver, requestId, at));
            },
            audit: (entry) =>
              recordAudit(em, {
                ...entry,
                actor: principal?.actor ?? 'anonymous',
                role: principal?.role ?? 'anonymous',
                requestId,
              }),
          };
          const result = await route.handler(ctx);
          return renderResult(route, result);
        };

        let result: RouteResult;
        if (!mutating) {
          result = await run(deps.db.em());
        } else {
          const key = req.get('idempotency-key');
          if (key === undefined && route.method === 'post' && route.idempotency !== 'optional') {
            throw new ApiError(
              'idempotency_key_missing',
              'Send an Idempotency-Key header (8-200 characters, unique per request)',
            );
          }
          if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
            throw new ApiError(
              'validation_failed',
              'Idempotency-Key must be 8-200 characters of letters, digits and . _ : -',
              {
                errors: [
                  { path: 'headers.idempotency-key', message: 'invalid format', code: 'invalid_format' },
                ],
              },
            );
          }
          const actor = principal?.actor ?? 'anonymous';
          const hash = requestHash(route.method, req.path, rawBody ?? {});
          const claim = { actor, key: key ?? '', hash, method: route.method.toUpperCase(), path: req.path };
          const replayed = (stored: StoredResponse): RouteResult => ({
            ...stored,
            body: route.sensitiveResponse
              ? openSealed(deps.security.keyring, stored.body, actor, claim.key)
              : stored.body,
            headers: { ...stored.headers, 'Idempotent-Replayed': 'true' },
          });
          const toStore = (fresh: RouteResult): StoredResponse => ({
            status: fresh.status,
            body: route.sensitiveResponse
              ? seal(deps.security.keyring, fresh.body ?? null, actor, claim.key)
              : (fresh.body ?? null),
            headers: fresh.headers ?? {},
          });
          if (route.idempotencyMode === 'lease' && key !== undefined) {
            // No transaction: the claim, the handler's statements and the stored response each commit alone.
            const outcome = await runUnderLease({
              em: () => deps.db.em(),
              schema: deps.db.schema,
              claim,
              handler: (untilKeyHeld) => run(deps.db.em(), untilKeyHeld),
              toStore,
              refused: (error) => errorKinds[mapError(error).kind].status < 500,
              onReleaseError: (e) =>
                log.error('idempotency.release_failed', { requestId, error: describeCause(e) }),
            });
            result = 'replay' in outcome ? replayed(outcome.replay) : outcome.fresh;
          } else {
            result = await deps.db.em().transactional(async (tx) => {
              if (key !== undefined) {
                const replay = await claimIdempotencyKey(tx, claim);
                if (replay) return replayed(replay);
              }
              const fresh = await run(tx);
              if (key !== undefined) {
                await saveIdempotentResponse(tx, { ...claim, response: toStore(fresh) }, now());
              }
              return fresh;
            });
          }
        }
        status = result.status;
        send(res, result, route.responses[result.status]?.contentType, route.sensitiveResponse);
      } catch (caught) {
        // The handler's transaction has rolled back by now: count the refused TOTP code, get its answer.
        const error = caught instanceof TotpRefusal ? await caught.refuse().catch((e: unknown) => e) : caught;
        const mapped = mapRequestError(error) ?? mapError(error);
        const errorId = randomUUID();
        const problem = toProblem(mapped, req.originalUrl.split('?')[0]!, errorId);
        status = problem.status;
        errorFields = {
          errorId,
          errorKind: mapped.kind,
          ...(status >= 500 ? { error: describeCause(mapped.cause ?? error) } : {}),
        };
        for (const [k, v] of Object.entries(mapped.headers ?? {})) res.setHeader(k, v);
        res.status(status).type(PROBLEM_JSON).send(JSON.stringify(problem));
      } finally {
        const fields = {
          requestId,
          method: req.method,
          route: route.path,
          path: req.path,
          status,
          durationMs: Math.round((performance.now() - started) * 10) / 10,
          ...(principal ? { actor: principal.actor, role: principal.role } : {}),
          ...errorFields,
        };
        if (status >= 500) log.error('request failed', fields);
        else log.info('request', fields);
        httpDuration.observe(
          { method: req.method, route: route.path, status: String(status) },
          (performance.now() - started) / 1000,
        );
      }
    };
  }

  for (const route of routes) {
    const handler = handlerFor(route);
    app[route.method](route.path, (req: Request, res: Response) => {
      // The id is settled here so the workflows this request starts carry the one it answers with.
      if (!REQUEST_ID.test(req.get('x-request-id') ?? '')) req.headers['x-request-id'] = randomUUID();
      return withRequestId(req.get('x-request-id')!, () =>
        inRequestSpan(req.method, route.path, req.headers, async (span) => {
          await handler(req, res);
          span.setAttribute('http.response.status_code', res.statusCode);
        }),
      );
    });
  }

  // Anything else: 405 when the path exists with another method, else 404 — both as problem+json.
  const matchers = routes.map((r) => ({
    method: r.method.toUpperCase(),
    re: new RegExp(
      `^${r.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+')}/?$`,
    ),
  }));
  app.use((req: Request, res: Response) => {
    const allowed = matchers.filter((m) => m.re.test(req.path)).map((m) => m.method);
    const errorId = randomUUID();
    const problem =
      allowed.length > 0
        ? toProblem(
            { kind: 'method_not_allowed', detail: `Use ${allowed.join(', ')} on ${req.path}` },
            req.path,
            errorId,
          )
        : toProblem(
            { kind: 'not_found', detail: `No route ${req.method} ${req.path}; see /openapi.json` },
            req.path,
            errorId,
          );
    if (allowed.length > 0) res.setHeader('Allow', allowed.join(', '));
    log.info('request', {
      method: req.method,
      path: req.path,
      status: problem.status,
      errorId,
      errorKind: problem.kind,
    });
    res.status(problem.status).type(PROBLEM_JSON).send(JSON.stringify(problem));
  });
  // Last resort (should not be reached: route handlers catch their own errors).
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const errorId = randomUUID();
    const mapped = mapRequestError(error) ?? mapError(error);
    log.error('unhandled error', { errorId, path: req.path, error: describeCause(error) });
    res
      .status(toProblem(mapped, req.path, errorId).status)
      .type(PROBLEM_JSON)
      .send(JSON.stringify(toProblem(mapped, req.path, errorId)));
  });

  return { app, routes, openapi: openapi!, limit };
}

/**
 * A refused TOTP code whose count and audit wait until the request's transaction has rolled back. An
 * ApiError of the same kind, so a lease-mode route forgets its key as it does for any refusal.
 */
class TotpRefusal extends ApiError {
  readonly refuse: () => Promise<never>;
  constructor(refuse: () => Promise<never>) {
    super('totp_invalid', 'The TOTP code was refused');
    this.refuse = refuse;
  }
}

/** Sensitive stored responses are kept as an encryption envelope bound to (caller, key). */
function seal(keyring: Keyring, body: unknown, actor: string, key: string): unknown {
  return { sealed: encrypt(keyring, JSON.stringify(body), `idempotency/${actor}/${key}`) };
}

function openSealed(keyring: Keyring, stored: unknown, actor: string, key: string): unknown {
  const sealed = (stored as { sealed?: unknown } | null)?.sealed;
  if (typeof sealed !== 'string') return stored;
  return JSON.parse(decrypt(keyring, sealed, `idempotency/${actor}/${key}`));
}

function isEmptyObject(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
}

function describeCause(error: unknown): Record<string, unknown> {
  if (error instanceof Error)
    return {
      name: error.name,
      message: error.message,
      stack: error.stack?.split('\n').slice(0, 6).join('\n'),
    };
  return { message: String(error) };
}

/** Validates the handler's body against the declared response schema (strips undeclared fields). */
function renderResult(route: Route, result: RouteResult): RouteResult {
  const spec = route.responses[result.status];
  if (!spec) throw new Error(`${route.method} ${route.path} returned undeclared status ${result.status}`);
  if (!spec.schema || result.body === undefined) return result;
  if (spec.contentType && spec.contentType !== 'application/json') return result;
  const parsed = spec.schema.safeParse(result.body);
  if (!parsed.success) {
    throw new Error(
      `${route.method} ${route.path} produced a ${result.status} body that does not match its schema: ${parsed.error.issues
        .map((i) => `${i.path.join('.')} ${i.message}`)
        .join('; ')}`,
    );
  }
  return { ...result, body: parsed.data };
}

/** Listens on `port` (0 = any free port); returns the base URL and a close function. */
export async function listen(
  app: express.Express,
  port = 0,
  host = '127.0.0.1',
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
    answerClientErrors(s);
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${host}:${addr.port}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
