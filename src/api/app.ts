// The HTTP API: an Express 5 app built from the route registry. Every request spends from a rate-limit
// bucket, then runs the pipeline (src/api/pipeline, one step per concern): access log → problem+json
// answers → respond → authenticate → role → params, payee access, query, body → Idempotency-Key header →
// transaction (writes) → stored response or handler → response checked against its schema.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { apiKeyAuthenticator } from '../auth/api-keys.ts';
import type { SecurityContext } from '../auth/security-context.ts';
import type { Database } from '../db/open.ts';
import { sql } from '../db/sql.ts';
import { createLogger, type Logger } from '../observability/log.ts';
import { serveMetrics } from '../observability/metrics-http.ts';
import { withRequestId } from '../observability/request-context.ts';
import { inRequestSpan } from '../observability/spans.ts';
import { answerClientErrors } from './client-errors.ts';
import { buildOpenApi } from './openapi.ts';
import { accessLog } from './pipeline/access-log.ts';
import { authentication } from './pipeline/auth.ts';
import { problemAnswers, sendProblem } from './pipeline/errors.ts';
import { compose, describeCause } from './pipeline/exchange.ts';
import { routeHandler } from './pipeline/handler.ts';
import { idempotencyKeyCheck, idempotentResponses } from './pipeline/idempotency.ts';
import { requestParsing } from './pipeline/parse.ts';
import { bucketOf, rateLimiting } from './pipeline/rate-limit.ts';
import { respond } from './pipeline/respond.ts';
import { roleCheck } from './pipeline/roles.ts';
import { approverTotp } from './pipeline/totp.ts';
import { transactionFor } from './pipeline/transaction.ts';
import { mapError, mapRequestError, toProblem } from './problem.ts';
import { type RateLimiter, SharedRateLimiter } from './rate-limit.ts';
import { defineRoute, type Route } from './route.ts';
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

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;
/** Request body limit when none is configured (API_BODY_LIMIT_BYTES sets it). */
export const DEFAULT_BODY_LIMIT_BYTES = 100 * 1024;

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

  const rates = rateLimiting(limiter, log);
  const auth = authentication({
    db: deps.db,
    tokenSigningKey: deps.security.tokenSigningKey,
    now,
    cacheMs: deps.apiKeyCacheMs ?? 0,
    ...(deps.apiKeyLookup ? { lookup: deps.apiKeyLookup } : {}),
    rateLimiting: rates,
  });
  const totp = approverTotp({
    db: deps.db,
    keyring: deps.security.keyring,
    lock: deps.security.totpLock,
    now,
  });
  // One step per concern, outermost first (see pipeline/exchange.ts).
  const pipeline = compose([
    accessLog(log),
    problemAnswers,
    respond,
    auth.step,
    roleCheck,
    requestParsing(routes, deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES),
    idempotencyKeyCheck,
    transactionFor(deps.db),
    idempotentResponses({ db: deps.db, keyring: deps.security.keyring, log, now }),
    routeHandler({ log, now, totp }),
  ]);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', deps.trustProxy ?? false);
  // Every request, public routes and unknown paths included, spends from a bucket first.
  app.use(rates.limit((req) => bucketOf(auth.presentedOf(req), req)));
  // Prometheus scrapes (outside the route registry: text exposition, its own bearer token).
  app.get('/metrics', (req, res) =>
    serveMetrics(req, res, {
      db: deps.db,
      token: deps.metricsToken,
      onError: (error) => log.error('metrics.scrape_failed', { error: describeCause(error) }),
    }),
  );

  for (const route of routes) {
    app[route.method](route.path, (req: Request, res: Response) => {
      // The id is settled here so the workflows this request starts carry the one it answers with.
      if (!REQUEST_ID.test(req.get('x-request-id') ?? '')) req.headers['x-request-id'] = randomUUID();
      const requestId = req.get('x-request-id')!;
      res.setHeader('X-Request-Id', requestId);
      return withRequestId(requestId, () =>
        inRequestSpan(req.method, route.path, req.headers, async (span) => {
          await pipeline({
            route,
            req,
            res,
            requestId,
            principal: null,
            params: undefined,
            query: undefined,
            body: undefined,
            sentBody: undefined,
            idempotencyKey: undefined,
            em: deps.db.em(),
            untilKeyHeld: async () => {},
            result: undefined,
            status: 500,
            logFields: {},
          });
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
    sendProblem(res, problem, undefined);
  });
  // Last resort (should not be reached: route handlers catch their own errors).
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const errorId = randomUUID();
    const mapped = mapRequestError(error) ?? mapError(error);
    log.error('unhandled error', { errorId, path: req.path, error: describeCause(error) });
    sendProblem(res, toProblem(mapped, req.path, errorId), undefined);
  });

  return { app, routes, openapi: openapi!, limit: rates.limit };
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
