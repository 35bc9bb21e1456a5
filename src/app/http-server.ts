// Starts the HTTP API of a process: keys at start-up, the full app, listening on API_HOST:API_PORT.

import type { SecurityContext } from '../api/app.ts';
import { listen } from '../api/app.ts';
import { createFirstRunKeys, firstKeysHint, registerBootstrapKeys } from '../api/server.ts';
import type { Config } from '../config/index.ts';
import { startIdempotencyPurge } from '../http/idempotency.ts';
import type { Logger } from '../observability/log.ts';
import { PayoutHistory } from '../payouts/history.ts';
import { createHttpApp } from './http.ts';
import type { TemporalHandle } from './runtime.ts';
import { gatewayFor, periodGatewayFor, periodScheduleFor } from './runtime.ts';
import type { Services } from './services.ts';

export async function startHttp(
  config: Config,
  o: {
    services: Services;
    security: SecurityContext;
    temporal: TemporalHandle;
    logger: Logger;
    firstRun: boolean;
  },
) {
  await registerBootstrapKeys(config, o.services.db);
  const firstRunKeys = o.firstRun ? await createFirstRunKeys(o.services.db, o.security) : [];
  // Without first-run keys (DATABASE_URL set) a fresh install would otherwise start with no way in.
  const noKeysHint = o.firstRun ? undefined : await firstKeysHint(o.services.db);
  const { app } = createHttpApp({
    services: o.services,
    gateway: gatewayFor(config, o.temporal),
    history: new PayoutHistory(o.temporal.client),
    periodGateway: periodGatewayFor(config, o.temporal),
    periodSchedule: periodScheduleFor(config, o.temporal),
    security: o.security,
    logger: o.logger,
    bodyLimitBytes: config.api.bodyLimitBytes,
    rateLimit: config.api.rateLimit,
    trustProxy: config.api.trustProxy,
    apiKeyCacheMs: config.api.apiKeyCacheMs,
    ...(config.observability.metricsToken ? { metricsToken: config.observability.metricsToken } : {}),
    readinessChecks: [
      {
        name: 'temporal',
        check: async () => {
          await o.temporal.connection.workflowService.getSystemInfo({});
        },
      },
    ],
  });
  const server = await listen(app, config.api.port, config.api.host);
  const stopPurge = startIdempotencyPurge({
    em: () => o.services.db.em(),
    retentionMs: config.api.idempotencyRetentionMs,
    onError: (error) => o.logger.error('idempotency.purge_failed', { error: String(error) }),
  });
  return {
    url: server.url,
    firstRunKeys,
    /** Set when no API key exists: the commands that create the first ones. */
    noKeysHint,
    async close() {
      stopPurge();
      await server.close();
    },
  };
}
