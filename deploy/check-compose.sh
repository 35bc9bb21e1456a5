#!/bin/sh
# Checks docker-compose.yml without a Docker engine (only the docker CLI with the compose plugin):
#   1. `docker compose config` accepts it once every required variable is set (the same file as env_file);
#   2. it refuses to render without the secrets (no silent defaults for keys or passwords);
#   3. the search attributes the compose setup registers are exactly those the code declares
#      (src/temporal/search-attributes.ts).
set -eu
cd "$(dirname "$0")/.."

env_file=$(mktemp)
trap 'rm -f "$env_file"' EXIT
cat >"$env_file" <<'VARS'
POSTGRES_PASSWORD=check-postgres
TEMPORAL_DB_PASSWORD=check-temporal
DISBURSE_DB_PASSWORD=check-disburse
DISBURSE_ENCRYPTION_KEYS=k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
DISBURSE_FINGERPRINT_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
DISBURSE_TOKEN_SIGNING_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
VARS

env -i PATH="$PATH" HOME="$HOME" DISBURSE_ENV_FILE="$env_file" docker compose --env-file "$env_file" config --quiet
echo "ok: docker compose config accepts docker-compose.yml"

if env -i PATH="$PATH" HOME="$HOME" docker compose --env-file /dev/null config --quiet 2>/dev/null; then
  echo "docker-compose.yml rendered without POSTGRES_PASSWORD / DISBURSE_* secrets; it must refuse" >&2
  exit 1
fi
echo "ok: missing secrets are refused"

declared=$(sed -n "s/^  \([A-Za-z][A-Za-z0-9_]*\): '\([A-Za-z]*\)',\$/\1=\2/p" src/temporal/search-attributes.ts | sort | tr '\n' ' ')
registered=$(sed -n 's/^SEARCH_ATTRIBUTES="\(.*\)"$/\1/p' deploy/temporal/setup-namespace.sh | tr ' ' '\n' | sort | tr '\n' ' ')
if [ -z "$declared" ] || [ "$declared" != "$registered" ]; then
  echo "search attributes differ: code declares [${declared}], compose registers [${registered}]" >&2
  echo "update SEARCH_ATTRIBUTES in deploy/temporal/setup-namespace.sh" >&2
  exit 1
fi
echo "ok: compose registers the search attributes the code declares: ${declared}"
