#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
# Temporal and Disburse get separate roles and databases: neither can read the other's data.
set -eu

: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD must be set for the temporal role}"
: "${DISBURSE_DB_PASSWORD:?DISBURSE_DB_PASSWORD must be set for the disburse role}"

# Passwords travel as psql variables and are quoted by format(%L), never spliced into SQL text.
psql --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  --set temporal_password="$TEMPORAL_DB_PASSWORD" \
  --set disburse_password="$DISBURSE_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE temporal LOGIN PASSWORD %L', :'temporal_password') \gexec
SELECT format('CREATE ROLE disburse LOGIN PASSWORD %L', :'disburse_password') \gexec

-- Temporal's persistence and visibility stores; schemas are applied by temporal-sql-tool.
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
-- The Disburse ledger; tables come from `node src/db/migrate-cli.ts` (the migrate service).
CREATE DATABASE disburse OWNER disburse;

REVOKE ALL ON DATABASE temporal, temporal_visibility, disburse FROM PUBLIC;
GRANT CONNECT ON DATABASE temporal, temporal_visibility TO temporal;
GRANT CONNECT ON DATABASE disburse TO disburse;
SQL
