// `npm run api`: the HTTP API alone (production: scale it horizontally; migrations run with npm run migrate).

import { startHttp } from '../app/http-server.ts';
import {
  buildServices,
  connectTemporal,
  onShutdown,
  openRuntimeDatabase,
  runtimeLogger,
  securityFor,
} from '../app/runtime.ts';
import { parseCli } from '../cli/args.ts';
import { loadConfig } from '../config/index.ts';

parseCli({
  usage: `usage: npm run api [-- --help]

The HTTP API alone, as deployed (scale it horizontally; migrations run with npm run migrate).
  -h, --help   print this help and exit (nothing starts)

Environment (see deploy/env.example):
  TEMPORAL_ADDRESS   Temporal frontend host:port (required, or from TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE);
                     TLS and API keys through TEMPORAL_TLS_* and TEMPORAL_API_KEY (README: Temporal Cloud)
  DATABASE_URL       PostgreSQL; unset = embedded PGlite
  DISBURSE_ENCRYPTION_KEYS, DISBURSE_FINGERPRINT_KEY, DISBURSE_TOKEN_SIGNING_KEY   required with DATABASE_URL`,
  options: {},
});
const config = loadConfig();
const log = runtimeLogger(config);
const database = await openRuntimeDatabase(config, { migrate: false });
const temporal = await connectTemporal(config, { allowEmbedded: false });
const security = await securityFor(config, !database.embedded, log);
const services = await buildServices(config, database.db, security, false);
const http = await startHttp(config, {
  services,
  security,
  temporal,
  logger: log,
  firstRun: !!database.embedded,
});
log.info('api.listening', { url: http.url, temporal: temporal.address });
if (http.noKeysHint) log.warn('api.no_api_keys', { detail: http.noKeysHint });

onShutdown(
  [
    { name: 'http', run: () => http.close() },
    { name: 'services', run: () => services.stop() },
    { name: 'temporal', run: () => temporal.close() },
    { name: 'database', run: () => database.close() },
  ],
  { log },
);
