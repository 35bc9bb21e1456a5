// deploy/env.example, generated from the config sections' zod schemas (the single source of every
// variable): `node src/config/env-example-cli.ts > deploy/env.example`; test/deploy/compose.test.ts fails
// when the checked-in file drifts.
import type { z } from 'zod';
import { configSections } from './index.ts';

/** Set by docker-compose.yml itself (service names, ports inside the network): not for .env. */
export const COMPOSE_SET_VARIABLES = [
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'API_HOST',
  'API_PORT',
  'WORKER_METRICS_PORT',
  'WORKER_METRICS_HOST',
] as const;

/**
 * Optional in the schema (so `npm start` generates development values) but required by the API and the
 * worker against PostgreSQL (src/app/runtime.ts securityFor): empty lines in env.example to fill in.
 */
export const PRODUCTION_REQUIRED_VARIABLES = [
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'DISBURSE_ENCRYPTION_KEYS',
  'DISBURSE_FINGERPRINT_KEY',
  'DISBURSE_TOKEN_SIGNING_KEY',
] as const;

/** Read by docker-compose.yml for interpolation only (passwords, published ports, image tag). */
const COMPOSE_HEADER = `# Copy to .env next to docker-compose.yml and fill in every empty value. Never commit .env.
# Generated from src/config (node src/config/env-example-cli.ts > deploy/env.example): every variable
# Disburse reads is listed with its expected form; compose passes this file to the api, worker and
# migrate containers (env_file), so uncommenting a line is enough. Provider credentials are read under
# the names DISBURSE_PROVIDERS gives them (<NAME>_SECRET_KEY, <NAME>_WEBHOOK_SECRET, … or their _FILE):
# add them here too.
# Passwords end up inside connection URLs: use URL-safe characters, e.g. \`openssl rand -hex 24\`.

# --- compose: PostgreSQL roles, published ports, image ---
# PostgreSQL superuser (only the init script and you use it).
POSTGRES_PASSWORD=
# Role \`temporal\` owning the temporal and temporal_visibility databases.
TEMPORAL_DB_PASSWORD=
# Role \`disburse\` owning the ledger database.
DISBURSE_DB_PASSWORD=
# TEMPORAL_NAMESPACE_RETENTION=30d
# TEMPORAL_PORT=7233
# TEMPORAL_UI_PORT=8080
# POSTGRES_PORT=5432
# PROMETHEUS_PORT=9090
# GRAFANA_PORT=3001
# GRAFANA_ADMIN_PASSWORD=
# DISBURSE_IMAGE_TAG=local
# DISBURSE_ENV_FILE=.env
`;

/** Names of every variable `loadConfig` reads, section by section. */
export function configVariables(): { section: string; name: string; field: z.ZodType }[] {
  return configSections.flatMap((s) =>
    Object.entries(s.variables.shape).map(([name, field]) => ({
      section: s.key,
      name,
      field: field as z.ZodType,
    })),
  );
}

export function renderEnvExample(): string {
  const lines = [COMPOSE_HEADER];
  const composeSet = new Set<string>(COMPOSE_SET_VARIABLES);
  const required = new Set<string>(PRODUCTION_REQUIRED_VARIABLES);
  let section = '';
  for (const v of configVariables()) {
    if (v.section !== section) {
      section = v.section;
      lines.push('', `# --- ${section} (src/config/${section}.ts) ---`);
    }
    const what = (v.field.description ?? '').replace(/\s+/g, ' ').trim();
    if (what) lines.push(`# ${v.name}: ${what}`);
    if (composeSet.has(v.name)) lines.push(`#   (set by docker-compose.yml)`);
    else lines.push(required.has(v.name) ? `${v.name}=` : `# ${v.name}=`);
  }
  return `${lines.join('\n')}\n`;
}
