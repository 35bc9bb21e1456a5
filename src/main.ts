// `npm start`: the whole of Disburse in one process — HTTP API, worker, and, when nothing external is
// configured, an embedded PostgreSQL (PGlite) and the embedded Temporal-compatible bin/temporal-dev.
// Production runs `npm run api` and `npm run worker` against real PostgreSQL and Temporal instead.

import { startHttp } from './app/http-server.ts';
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
} from './app/runtime.ts';
import { parseCli } from './cli/args.ts';
import { loadConfig } from './config/index.ts';
import { withTrialDefaults } from './config/trial.ts';
import { DataDirInUseError } from './db/embedded.ts';
import { startLedgerVerify } from './observability/ledger-verify.ts';

parseCli({
  usage: `usage: npm start [-- --help]

The whole of Disburse in one process: HTTP API, worker and, when nothing external is configured, an
embedded PostgreSQL (PGlite) and the embedded bin/temporal-dev. Stop with Ctrl-C or SIGTERM.
  -h, --help   print this help and exit (nothing starts)

Environment (all optional here; see deploy/env.example):
  DATABASE_URL       PostgreSQL; unset = embedded PGlite in PGLITE_DATA_DIR (default .data/pglite)
  TEMPORAL_ADDRESS   Temporal frontend host:port; unset = embedded bin/temporal-dev on
                     TEMPORAL_DEV_PORT (default 7233; HTTP API on TEMPORAL_DEV_HTTP_PORT, default 7243)
  API_PORT           HTTP port of the API`,
  options: {},
});
const trial = withTrialDefaults(process.env);
const config = loadConfig(trial.env);
const log = runtimeLogger(config);
const database = await openRuntimeDatabase(config, { migrate: true, own: true }).catch((error) => {
  // Already running on this data directory: say so plainly, not as a crash.
  if (!(error instanceof DataDirInUseError)) throw error;
  console.error(`Disburse cannot start: ${error.message}`);
  process.exit(1);
});
const temporal = await connectTemporal(config, { allowEmbedded: true });
const production = Boolean(config.database.url && config.temporal.address);
const security = await securityFor(config, production, log);
const services = await buildServices(config, database.db, security, true);
const worker = await startWorker(config, services, temporal.native);
const running = worker.run();
await ensurePeriodSchedule(config, temporal, log); // periods close on their calendar
const http = await startHttp(config, {
  services,
  security,
  temporal,
  logger: log,
  firstRun: !!database.embedded,
});
const stopVerify = startLedgerVerify(database.db, config.observability.ledgerVerifyIntervalMs, log);
services.providers.deliverSandboxWebhooksTo(http.url); // sandbox events confirm payouts by webhook

console.log(`Disburse is running.
  API        ${http.url}  (OpenAPI: ${http.url}/openapi.json)
  Console    ${http.url}/console/  (sign in with an API key or a payee token)
  Database   ${database.embedded ? `embedded PGlite (${config.database.embeddedDataDir})` : 'DATABASE_URL'}
  Temporal   ${temporal.embedded ? `embedded bin/temporal-dev at ${temporal.address}${temporal.embedded.httpUrl ? `, HTTP API ${temporal.embedded.httpUrl}` : ''}` : temporal.address} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})
  Providers  ${services.providers.names().join(', ')}${
    trial.applied.length
      ? `\n  Trial      ${trial.applied.map((name) => `${name}=${trial.env[name]}`).join(' ')} (embedded trial defaults; set a variable to override)`
      : ''
  }`);
for (const k of http.firstRunKeys) {
  console.log(
    `  ${k.role} API key (shown once): ${k.key}${k.totpUri ? `\n    approver TOTP: ${k.totpUri}` : ''}`,
  );
}
if (http.noKeysHint) console.log(http.noKeysHint);

// In order: no new requests, no new tasks (in-flight ones finish), then what they used.
onShutdown(
  [
    { name: 'http', run: () => http.close() },
    { name: 'worker', run: () => stopWorker(worker, running) },
    { name: 'ledger-verify', run: async () => stopVerify() },
    { name: 'services', run: () => services.stop() },
    { name: 'temporal', run: () => temporal.close() },
    { name: 'database', run: () => database.close() },
  ],
  { log },
);
