// Starts the real app on a free port against a fresh PostgreSQL schema, with one API key per role.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  type AppDeps,
  createApp,
  listen,
  type ReadinessCheck,
  type SecurityContext,
} from '../../src/api/app.ts';
import { defineRoute, type Route } from '../../src/api/route.ts';
import { coreRoutes } from '../../src/api/routes/index.ts';
import { type CreatedApiKey, createApiKey } from '../../src/auth/api-keys.ts';
import { keyringFromKeys } from '../../src/crypto/index.ts';
import { Ledger } from '../../src/ledger/index.ts';
import { createLogger } from '../../src/observability/log.ts';
import { createPayeeService } from '../../src/payees/service.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/**
 * POST /v1/test/approve: an approval as the payout and period routes make it (approver role, TOTP checked,
 * audited as test.approve), for tests of approver authentication. Add it with `routes`.
 */
export const testApproveRoute = defineRoute({
  method: 'post',
  path: '/v1/test/approve',
  summary: 'Test-only approval',
  roles: ['approver'],
  body: z.strictObject({ totp: z.string().describe('TOTP code') }).describe('approval'),
  responses: {
    200: {
      description: 'approved',
      schema: z.object({ by: z.string().describe('approver') }).describe('ok'),
    },
  },
  handler: async (ctx) => {
    await ctx.verifyApproverTotp(ctx.body.totp);
    await ctx.audit({ action: 'test.approve', objectType: 'test', objectId: '1' });
    return { status: 200, body: { by: ctx.principal.actor } };
  },
});

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  idempotencyKey?: string | null;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  contentType: string;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected dynamically
  body: any;
  text: string;
}

let seq = 0;
export function newIdempotencyKey(): string {
  seq++;
  return `test-${Date.now()}-${seq}-${randomBytes(4).toString('hex')}`;
}

export async function startTestApi(
  label: string,
  opts: {
    rateLimit?: { ratePerSecond: number; burst: number };
    bodyLimitBytes?: number;
    routes?: Route[];
    readinessChecks?: ReadinessCheck[];
    /** The app's clock (TOTP steps, lockouts, token expiry); default: the real time. */
    now?: () => Date;
    security?: Partial<SecurityContext>;
    /**
     * Serve this database (another API process of the same deployment: give it the first one's security
     * too); it is left to its owner on close. Default: a fresh schema, dropped on close.
     */
    db?: TestDatabase;
    /** Further app settings (apiKeyCacheMs, apiKeyLookup, rateLimiter, trustProxy, …). */
    app?: Partial<AppDeps>;
  } = {},
) {
  const db = opts.db ?? (await createTestDatabase(label));
  const security: SecurityContext = {
    keyring: keyringFromKeys([['k1', randomBytes(32)]]),
    fingerprintKey: randomBytes(32),
    tokenSigningKey: randomBytes(32),
    payeeTokenTtlSeconds: 3600,
    totpIssuer: 'Disburse test',
    ...opts.security,
  };
  const payees = createPayeeService({ keyring: security.keyring, fingerprintKey: security.fingerprintKey });
  const ledger = new Ledger(db);
  const logs: string[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => logs.push(line) });
  const { app, openapi, routes } = createApp({
    db,
    security,
    routes: [...coreRoutes({ payees, ledger, security, schema: db.schema }), ...(opts.routes ?? [])],
    logger,
    rateLimit: opts.rateLimit ?? { ratePerSecond: 10_000, burst: 10_000 },
    ...(opts.bodyLimitBytes ? { bodyLimitBytes: opts.bodyLimitBytes } : {}),
    ...(opts.readinessChecks ? { readinessChecks: opts.readinessChecks } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...opts.app,
  });
  const server = await listen(app);
  const keys: Record<'platform' | 'approver' | 'operator', CreatedApiKey> = {
    platform: await createApiKey(db.em(), { role: 'platform', actor: 'acme-backend' }),
    approver: await createApiKey(db.em(), { role: 'approver', actor: 'alice' }),
    operator: await createApiKey(db.em(), { role: 'operator', actor: 'olga' }),
  };

  async function call(method: string, path: string, o: CallOptions = {}): Promise<CallResult> {
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const key = o.key === undefined ? keys.platform.key : o.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (o.rawBody !== undefined) body = o.rawBody;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    if (method === 'POST' && o.idempotencyKey !== null)
      headers['idempotency-key'] = o.idempotencyKey ?? newIdempotencyKey();
    else if (o.idempotencyKey) headers['idempotency-key'] = o.idempotencyKey;
    const res = await fetch(server.url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
    const contentType = res.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (contentType.includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, contentType, body: parsed, text };
  }

  let payeeSeq = 0;
  async function createPayee(overrides: Record<string, unknown> = {}) {
    payeeSeq++;
    const res = await call('POST', '/v1/payees', {
      body: {
        externalId: `ext-${label}-${payeeSeq}-${randomBytes(3).toString('hex')}`,
        name: `Payee ${payeeSeq}`,
        email: `payee${payeeSeq}@example.com`,
        country: 'US',
        defaultCurrency: 'USD',
        ...overrides,
      },
    });
    if (res.status !== 201) throw new Error(`createPayee failed: ${res.status} ${res.text}`);
    return res.body as { id: string; externalId: string };
  }

  async function payeeToken(payeeId: string): Promise<string> {
    const res = await call('POST', `/v1/payees/${payeeId}/tokens`, { body: {} });
    if (res.status !== 201) throw new Error(`token failed: ${res.status} ${res.text}`);
    return res.body.token as string;
  }

  return {
    url: server.url,
    db,
    security,
    payees,
    ledger,
    logs,
    openapi,
    routes,
    keys,
    call,
    createPayee,
    payeeToken,
    async close() {
      await server.close();
      if (!opts.db) await db.drop();
    },
  };
}

export type TestApi = Awaited<ReturnType<typeof startTestApi>>;

/** Row count of a table in the test schema (to prove a rejected request wrote nothing). */
export async function countRows(api: TestApi, table: string): Promise<number> {
  const { sql } = await import('../../src/db/sql.ts');
  const rows = await sql<{ n: string }>(
    api.db.em(),
    `SELECT count(*)::text AS n FROM "${api.db.schema}"."${table}"`,
  );
  return Number(rows[0]!.n);
}
