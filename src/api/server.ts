// Wiring of the HTTP API from configuration: security context, payee service, ledger, core routes, and
// bootstrap API keys. Entry points (src/api/main.ts, the lead's src/main.ts) call `startApiServer` and add
// their own routes (payouts, webhooks) and readiness checks.
import { createApiKey, storeApiKey } from '../auth/api-keys.ts';
import { enrollApproverTotp } from '../auth/approver-totp.ts';
import { ApiKey } from '../auth/entities.ts';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/open.ts';
import { Ledger } from '../ledger/index.ts';
import { createPayeeService, type PayeeService } from '../payees/service.ts';
import { createApp, type DisburseApp, listen, type ReadinessCheck, type SecurityContext } from './app.ts';
import { securityContextFromConfig } from './dev-secrets.ts';
import { createLogger, type Logger } from './log.ts';
import type { Route } from './route.ts';
import { coreRoutes } from './routes/index.ts';

export interface ApiServices {
  security: SecurityContext;
  payees: PayeeService;
  ledger: Ledger;
  logger: Logger;
}

/** Builds the services the API routes need (also handy for workers/activities: same payee service). */
export async function createApiServices(config: Config, db: Database, logger?: Logger): Promise<ApiServices> {
  const log = logger ?? createLogger({ level: config.api.logLevel });
  const { security, usedDevSecrets } = await securityContextFromConfig(config.security);
  if (usedDevSecrets) {
    log.warn(
      'using development secrets from .data/dev-secrets.json; set DISBURSE_ENCRYPTION_KEYS, DISBURSE_FINGERPRINT_KEY and DISBURSE_TOKEN_SIGNING_KEY in production',
    );
  }
  return {
    security,
    payees: createPayeeService({ keyring: security.keyring, fingerprintKey: security.fingerprintKey }),
    ledger: new Ledger(db),
    logger: log,
  };
}

/** Registers DISBURSE_BOOTSTRAP_API_KEYS (hashed); idempotent across restarts. */
export async function registerBootstrapKeys(config: Config, db: Database): Promise<string[]> {
  const out: string[] = [];
  for (const k of config.security.bootstrapApiKeys) {
    const stored = await storeApiKey(db.em(), k);
    out.push(`${stored.role}:${stored.actor} (key id ${stored.keyId})`);
  }
  return out;
}

export interface FirstRunKey {
  role: string;
  actor: string;
  key: string;
  totpUri?: string;
}

/**
 * For a fresh embedded install (`npm start` with nothing configured): when no API key exists at all, creates
 * one key per role (the approver with a TOTP secret) and returns them so the caller can print them once.
 * Returns [] when any key exists. Do not call in production (use DISBURSE_BOOTSTRAP_API_KEYS or the CLI).
 */
export async function createFirstRunKeys(db: Database, security: SecurityContext): Promise<FirstRunKey[]> {
  const em = db.em();
  if ((await em.count(ApiKey, {})) > 0) return [];
  const out: FirstRunKey[] = [];
  for (const [role, actor] of [
    ['platform', 'platform'],
    ['approver', 'approver'],
    ['operator', 'operator'],
  ] as const) {
    const k = await createApiKey(em, { role, actor });
    const entry: FirstRunKey = { role, actor, key: k.key };
    if (role === 'approver') {
      entry.totpUri = (
        await enrollApproverTotp(em, security.keyring, actor, { issuer: security.totpIssuer })
      ).otpauthUri;
    }
    out.push(entry);
  }
  return out;
}

export async function startApiServer(
  config: Config,
  db: Database,
  opts: {
    routes?: (services: ApiServices) => Route[];
    readinessChecks?: ReadinessCheck[];
    services?: ApiServices;
  } = {},
): Promise<{ url: string; app: DisburseApp; services: ApiServices; close(): Promise<void> }> {
  const services = opts.services ?? (await createApiServices(config, db));
  const keys = await registerBootstrapKeys(config, db);
  const app = createApp({
    db,
    security: services.security,
    routes: [...coreRoutes(services), ...(opts.routes?.(services) ?? [])],
    logger: services.logger,
    bodyLimitBytes: config.api.bodyLimitBytes,
    rateLimit: config.api.rateLimit,
    readinessChecks: opts.readinessChecks ?? [],
  });
  const server = await listen(app.app, config.api.port, config.api.host);
  services.logger.info('api listening', { url: server.url, bootstrapKeys: keys.length });
  return { url: server.url, app, services, close: server.close };
}
