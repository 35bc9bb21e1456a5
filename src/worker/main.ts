// `npm run worker`: a Disburse worker (payout workflows and activities). Scale horizontally; every worker
// polls the same task queue.

import {
  buildServices,
  connectTemporal,
  ensurePeriodSchedule,
  onShutdown,
  openRuntimeDatabase,
  runtimeLogger,
  securityFor,
  startWorker,
  stopWorker,
} from '../app/runtime.ts';
import { parseCli } from '../cli/args.ts';
import { loadConfig } from '../config/index.ts';
import { startLedgerVerify } from '../observability/ledger-verify.ts';
import { startMetricsServer } from '../observability/metrics-http.ts';
import { workerReadiness } from './readiness.ts';

parseCli({
  usage: `usage: npm run worker [-- --help]

A Disburse worker (the workflows and their activities), as deployed; every worker polls the same task
queue (TEMPORAL_TASK_QUEUE).
  -h, --help   print this help and exit (nothing starts)

Environment (see deploy/env.example):
  TEMPORAL_ADDRESS   Temporal frontend host:port (required, or from TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE);
                     TLS and API keys through TEMPORAL_TLS_* and TEMPORAL_API_KEY (README: Temporal Cloud)
  DATABASE_URL       PostgreSQL; unset = embedded PGlite
  DISBURSE_ENCRYPTION_KEYS, DISBURSE_FINGERPRINT_KEY, DISBURSE_TOKEN_SIGNING_KEY   required with DATABASE_URL
  WORKER_METRICS_PORT  serve /metrics and /readyz on this port (default 0 = off); METRICS_TOKEN protects it
  WORKER_ACTIVITY_SLOTS, WORKER_WORKFLOW_SLOTS, WORKER_*_POLLERS, …   concurrency overrides (ranges in
                     deploy/env.example; defaults in src/worker/tuning.ts)`,
  options: {},
});
const config = loadConfig();
const log = runtimeLogger(config);
const database = await openRuntimeDatabase(config, { migrate: false });
const temporal = await connectTemporal(config, { allowEmbedded: false });
const security = await securityFor(config, !database.embedded, log);
const services = await buildServices(config, database.db, security, true);
const worker = await startWorker(config, services, temporal.native);
log.info('worker.started', { taskQueue: config.temporal.taskQueue, temporal: temporal.address });
const running = worker.run();
await ensurePeriodSchedule(config, temporal, log); // periods close on their calendar
const metrics = config.observability.workerMetricsPort
  ? await startMetricsServer({
      port: config.observability.workerMetricsPort,
      host: config.observability.workerMetricsHost,
      db: database.db,
      token: config.observability.metricsToken,
      onError: (error) => log.error('metrics.scrape_failed', { error: String(error) }),
      ready: workerReadiness(worker, database.db),
    })
  : undefined;
if (metrics) log.info('worker.metrics', { url: `${metrics.url}/metrics` });
const stopVerify = startLedgerVerify(database.db, config.observability.ledgerVerifyIntervalMs, log);

onShutdown(
  [
    { name: 'worker', run: () => stopWorker(worker, running) },
    {
      name: 'metrics',
      run: async () => {
        stopVerify();
        await metrics?.close();
      },
    },
    { name: 'services', run: () => services.stop() },
    { name: 'temporal', run: () => temporal.close() },
    { name: 'database', run: () => database.close() },
  ],
  { log },
);
await running;
