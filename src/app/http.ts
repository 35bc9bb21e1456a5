// The complete HTTP surface: provider webhooks (raw body, verified by the adapter) in front of the JSON API
// built from the route registry (payees, wallets, payouts, manual provider operations, health, OpenAPI).
import express from 'express';
import {
  type AppDeps,
  createApp,
  DEFAULT_BODY_LIMIT_BYTES,
  type ReadinessCheck,
  type SecurityContext,
} from '../api/app.ts';
import { providerWebhookOpenApi, providerWebhookRouter } from '../api/provider-webhooks.ts';
import { consoleReadRoutes } from '../api/routes/console-reads.ts';
import { earningsRoutes } from '../api/routes/earnings.ts';
import { coreRoutes } from '../api/routes/index.ts';
import { payoutHistoryRoutes } from '../api/routes/payout-history.ts';
import { payoutRoutes } from '../api/routes/payouts.ts';
import { periodScheduleRoutes } from '../api/routes/period-schedule.ts';
import { periodRoutes } from '../api/routes/periods.ts';
import { providerRoutes } from '../api/routes/providers.ts';
import { spendbackRoutes } from '../api/routes/spendback.ts';
import { webhookEndpointRoutes } from '../api/routes/webhook-endpoints.ts';
import { consoleRouter } from '../console/router.ts';
import type { Logger } from '../observability/log.ts';
import type { PayoutGateway } from '../payouts/gateway.ts';
import type { PayoutHistory } from '../payouts/history.ts';
import { providerEventDelivery } from '../payouts/late-return.ts';
import type { PeriodGateway } from '../periods/gateway.ts';
import type { PeriodSchedule } from '../periods/schedule.ts';
import type { GrantTimers } from '../spendback/timers.ts';
import type { Services } from './services.ts';

export interface HttpOptions {
  services: Services;
  gateway: PayoutGateway;
  /** Payout workflow histories (without it GET /v1/payouts/:id/history is not served). */
  history?: PayoutHistory;
  /** Period-close workflows (without it the period routes are not served; earnings ingestion is). */
  periodGateway?: PeriodGateway;
  /** The period-close schedule (without it GET /v1/periods/schedule and its pause / unpause are not served). */
  periodSchedule?: PeriodSchedule;
  security: SecurityContext;
  /** Starts credit grant expiry timers (without: grants wait for `spendback.startPendingTimers`). */
  grantTimers?: GrantTimers;
  logger: Logger;
  bodyLimitBytes?: number;
  rateLimit?: AppDeps['rateLimit'];
  trustProxy?: AppDeps['trustProxy'];
  apiKeyCacheMs?: number;
  /** Bearer token GET /metrics requires (METRICS_TOKEN). */
  metricsToken?: string;
  readinessChecks?: readonly ReadinessCheck[];
  now?: () => Date;
  /** Where the console links a payout's workflow in Temporal UI (default: TEMPORAL_UI_URL). */
  temporalUiUrl?: string;
}

export function createHttpApp(o: HttpOptions) {
  const { services, gateway } = o;
  const bodyLimitBytes = o.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  // Provider events reach their payout the same way from a webhook and from a manual import.
  const deliver = providerEventDelivery({
    db: services.db,
    gateway,
    payouts: services.payouts,
    outbox: services.outbox,
    log: o.logger,
  });
  const api = createApp({
    db: services.db,
    security: o.security,
    logger: o.logger,
    routes: [
      ...coreRoutes({
        payees: services.payees,
        ledger: services.ledger,
        security: o.security,
        schema: services.db.schema,
        onEarningsCredited: (em, credit) => services.spendback.onEarningsCredited(em, credit, o.grantTimers),
      }),
      ...payoutRoutes({
        gateway,
        bulks: services.bulks,
        store: services.payouts.store,
        schema: services.db.schema,
      }),
      ...(o.history ? payoutHistoryRoutes({ history: o.history, store: services.payouts.store }) : []),
      ...providerRoutes({ providers: services.providers, deliver }),
      ...earningsRoutes({
        periods: services.periods,
        schema: services.db.schema,
        calendar: services.periodsConfig.calendar,
      }),
      // Before periodRoutes: /v1/periods/schedule is not a period id.
      ...(o.periodSchedule ? periodScheduleRoutes({ schedule: o.periodSchedule }) : []),
      ...(o.periodGateway
        ? periodRoutes({ gateway: o.periodGateway, periods: services.periods, plans: services.plans })
        : []),
      ...consoleReadRoutes({
        schema: services.db.schema,
        store: services.payouts.store,
        payees: services.payees,
        payouts: services.payoutsConfig,
        periods: services.periods,
        spendback: services.spendback,
        periodGateway: o.periodGateway,
      }),
      ...spendbackRoutes({ spendback: services.spendback, payees: services.payees, timers: o.grantTimers }),
      ...webhookEndpointRoutes({ store: services.webhookEndpoints, outbox: services.outbox }),
    ],
    bodyLimitBytes,
    openApiPaths: providerWebhookOpenApi,
    ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
    ...(o.trustProxy !== undefined ? { trustProxy: o.trustProxy } : {}),
    ...(o.apiKeyCacheMs !== undefined ? { apiKeyCacheMs: o.apiKeyCacheMs } : {}),
    ...(o.metricsToken ? { metricsToken: o.metricsToken } : {}),
    ...(o.readinessChecks ? { readinessChecks: o.readinessChecks } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', o.trustProxy ?? false);
  // Webhooks spend from the API's shared buckets, per provider and sender address (an unknown provider
  // name spends from the address alone, so made-up names open no new buckets).
  app.use(
    providerWebhookRouter({
      providers: services.providers,
      deliver,
      log: o.logger,
      bodyLimitBytes,
      limit: api.limit((req) => {
        const name = String(req.params.name);
        return services.providers.get(name) ? `webhook:${name}:${req.ip}` : `ip:${req.ip}`;
      }),
    }),
  );
  app.use(
    '/console',
    consoleRouter({
      keyring: o.security.keyring,
      temporalUiUrl: o.temporalUiUrl ?? process.env.TEMPORAL_UI_URL,
      bodyLimitBytes,
    }),
  );
  app.use(api.app);
  return { app, openapi: api.openapi, routes: api.routes };
}
