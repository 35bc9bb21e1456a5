// `npm run worker`: a Disburse worker (payout workflows and activities). Scale horizontally; every worker
// polls the same task queue.

import {
  buildServices,
  connectTemporal,
  onShutdown,
  openRuntimeDatabase,
  runtimeLogger,
  securityFor,
  startWorker,
  stopWorker,
} from '../app/runtime.ts';
import { parseCli } from '../cli/args.ts';
import { loadConfig } from '../config/index.ts';

parseCli({
  usage: `usage: npm run worker [-- --help]

A Disburse worker (the workflows and their activities), as deployed; every worker polls the same task
queue (TEMPORAL_TASK_QUEUE).
  -h, --help   print this help and exit (nothing starts)

Environment (see deploy/env.example):
  TEMPORAL_ADDRESS   Temporal frontend host:port (required)
  DATABASE_URL       PostgreSQL; unset = embedded PGlite
  DISBURSE_ENCRYPTION_KEYS, DISBURSE_FINGERPRINT_KEY, DISBURSE_TOKEN_SIGNING_KEY   required with DATABASE_URL`,
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

onShutdown(
  [
    { name: 'worker', run: () => stopWorker(worker, running) },
    { name: 'services', run: () => services.stop() },
    { name: 'temporal', run: () => temporal.close() },
    { name: 'database', run: () => database.close() },
  ],
  { log },
);
await running;
