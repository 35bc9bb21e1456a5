// Process bootstrap shared by the entry points (`npm start`, `npm run api`, `npm run worker`): database
// (external or embedded PGlite), Temporal (external or embedded bin/temporal-dev), services, worker, HTTP.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { SecurityContext } from '../api/app.ts';
import { securityContextFromConfig } from '../auth/dev-secrets.ts';
import type { Config } from '../config/index.ts';
import type { Database } from '../db/open.ts';
import { createLogger, type Logger } from '../observability/log.ts';
import { requestIdClientInterceptor } from '../observability/request-context.ts';
import { sdkLogger } from '../observability/sdk-logger.ts';
import { currentTracing, startTracing } from '../observability/tracing.ts';
import { PayoutGateway } from '../payouts/gateway.ts';
import { PeriodGateway } from '../periods/gateway.ts';
import { PeriodSchedule } from '../periods/schedule.ts';
import { type EmbeddedTemporal, startEmbeddedTemporal } from '../temporal/embedded-server.ts';
import { ensureSearchAttributes } from '../temporal/search-attributes.ts';
import { createDisburseWorker } from '../worker/create-worker.ts';
import { createActivities } from './activities.ts';
import { createServices, type Services } from './services.ts';

export { type DatabaseHandle, openRuntimeDatabase } from '../db/runtime-database.ts';
export { onShutdown, type ShutdownStep } from './shutdown.ts';

export interface TemporalHandle {
  address: string;
  embedded?: EmbeddedTemporal;
  client: Client;
  connection: Connection;
  native: NativeConnection;
  close(): Promise<void>;
}

/** Connects to TEMPORAL_ADDRESS, or starts the embedded bin/temporal-dev (state in TEMPORAL_DEV_DB) when unset. */
export async function connectTemporal(
  config: Config,
  opts: { allowEmbedded: boolean },
): Promise<TemporalHandle> {
  const { temporal } = config;
  if (!temporal.address && !opts.allowEmbedded) {
    throw new Error(
      'TEMPORAL_ADDRESS is not set: point it (or TEMPORAL_PROFILE) at the Temporal frontend, e.g. temporal:7233',
    );
  }
  const embedded = temporal.address
    ? undefined
    : await startEmbeddedTemporal({
        namespace: temporal.namespace,
        ...(temporal.embeddedDbFile ? { dbFile: temporal.embeddedDbFile } : {}),
        ip: temporal.embeddedPorts.ip,
        port: temporal.embeddedPorts.grpc,
        ...(temporal.embeddedPorts.http ? { httpPort: temporal.embeddedPorts.http } : {}),
      });
  const address = temporal.address ?? embedded!.address;
  installRuntime(config);
  // The same TLS / mTLS / API key for client and worker: a secured cluster refuses either without them.
  const connection = await Connection.connect({ address, ...temporal.connection });
  const native = await NativeConnection.connect({
    address,
    ...temporal.connection,
    grpcCompression: { codec: temporal.grpcCompression },
  });
  if (embedded) await ensureSearchAttributes(connection, temporal.namespace);
  const tracing = startTracing({
    endpoint: config.observability.otlpEndpoint,
    serviceName: config.observability.serviceName,
  });
  const client = new Client({
    connection,
    namespace: temporal.namespace,
    interceptors: {
      workflow: [requestIdClientInterceptor(), ...(tracing?.clientInterceptors().workflow ?? [])],
    },
  });
  return {
    address,
    ...(embedded ? { embedded } : {}),
    client,
    connection,
    native,
    async close() {
      await native.close();
      await connection.close();
      await tracing?.shutdown(); // flushes the spans still buffered
      await embedded?.stop();
    },
  };
}

export async function securityFor(
  config: Config,
  production: boolean,
  log: Logger,
): Promise<SecurityContext> {
  const { security, usedDevSecrets } = await securityContextFromConfig(config.security, { production });
  if (usedDevSecrets) {
    log.warn('security.dev_secrets', {
      detail:
        'using development secrets from .data/dev-secrets.json; set DISBURSE_ENCRYPTION_KEYS, DISBURSE_FINGERPRINT_KEY and DISBURSE_TOKEN_SIGNING_KEY in production',
    });
  }
  return security;
}

export async function buildServices(
  config: Config,
  db: Database,
  security: SecurityContext,
  background: boolean,
) {
  return createServices({
    db,
    keyring: security.keyring,
    fingerprintKey: security.fingerprintKey,
    payouts: config.payouts,
    periods: config.periods,
    startProviderBackground: background,
  });
}

export async function startWorker(
  config: Config,
  services: Services,
  native: NativeConnection,
): Promise<Worker> {
  return createDisburseWorker({
    connection: native,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: createActivities(services),
    tracing: currentTracing(),
  });
}

/**
 * The SDK's Runtime, installed once before any connection. By default it shuts every worker down on
 * SIGINT/SIGTERM by itself, racing our ordered stop (whose worker.shutdown() then threw "Not running.
 * Current state: DRAINING" and orphaned temporal-dev): the process's onShutdown owns the signals instead.
 * Its logs (core's forwarded too) go through the JSON logger; its metrics to TEMPORAL_METRICS_BIND.
 */
function installRuntime(config: Config): void {
  const level = config.api.logLevel.toUpperCase() as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  const bind = config.observability.temporalMetricsBind;
  try {
    Runtime.install({
      shutdownSignals: [],
      logger: sdkLogger(runtimeLogger(config)),
      telemetryOptions: {
        logging: { filter: { core: level === 'DEBUG' ? 'INFO' : 'WARN', other: 'ERROR' }, forward: {} },
        ...(bind ? { metrics: { prometheus: { bindAddress: bind, countersTotalSuffix: true } } } : {}),
      },
    });
  } catch {
    // a Runtime exists already (tests install their own); stopWorker copes with either
  }
}

/** Stops the worker (if the SDK has not begun to already) and waits until it has drained. */
export async function stopWorker(worker: Worker, running: Promise<void>): Promise<void> {
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
}

export function gatewayFor(config: Config, temporal: TemporalHandle): PayoutGateway {
  return new PayoutGateway(temporal.client, config.temporal.taskQueue, {
    bulkWindow: config.payouts.bulkWindow,
  });
}

/** The period workflows' timers and fan-out window, from the configuration. */
function periodPolicy(config: Config) {
  return {
    reminderMs: config.periods.reminderMs,
    escalationMs: config.periods.escalationMs,
    payoutWindow: config.periods.payoutWindow,
    payoutPollMs: 30_000,
  };
}

export function periodGatewayFor(config: Config, temporal: TemporalHandle): PeriodGateway {
  return new PeriodGateway(temporal.client, config.temporal.taskQueue, periodPolicy(config));
}

export function periodScheduleFor(config: Config, temporal: TemporalHandle): PeriodSchedule {
  return new PeriodSchedule(temporal.client, {
    taskQueue: config.temporal.taskQueue,
    calendar: config.periods.calendar,
    graceMs: config.periods.closeGraceMs,
    policy: periodPolicy(config),
  });
}

/**
 * Creates or updates the `period-close` schedule (every worker does; the first creates it). A Temporal
 * that refuses it leaves periods to manual closes, and says so.
 */
export async function ensurePeriodSchedule(
  config: Config,
  temporal: TemporalHandle,
  log: Logger,
): Promise<void> {
  try {
    const outcome = await periodScheduleFor(config, temporal).ensure();
    log.info('periods.schedule', {
      outcome,
      calendar: config.periods.calendar.kind,
      graceMs: config.periods.closeGraceMs,
    });
  } catch (err) {
    log.error('periods.schedule_failed', {
      error: (err as Error).message,
      detail:
        'periods will not close on their calendar; close them with POST /v1/periods/:id/close, or fix the Temporal connection and restart the worker',
    });
  }
}

export function runtimeLogger(config: Config): Logger {
  return createLogger({ level: config.api.logLevel });
}
