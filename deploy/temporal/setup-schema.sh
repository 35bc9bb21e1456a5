#!/bin/sh
# Creates or upgrades Temporal's SQL schemas (persistence + visibility) with temporal-sql-tool from
# the admin-tools image, whose bundled schema files match the server version. Safe to re-run: an
# existing schema is only upgraded, never set up again.
set -eu

: "${SQL_HOST:?SQL_HOST is required}"
: "${SQL_USER:?SQL_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
SQL_PORT="${SQL_PORT:-5432}"
SCHEMA_ROOT="${SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

echo "waiting for PostgreSQL at ${SQL_HOST}:${SQL_PORT}..."
attempt=0
until nc -z -w 5 "$SQL_HOST" "$SQL_PORT"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then
    echo "PostgreSQL at ${SQL_HOST}:${SQL_PORT} is not reachable; check the postgres service" >&2
    exit 1
  fi
  sleep 2
done

sql_tool() {
  # The password reaches the tool through SQL_PASSWORD, not the command line.
  temporal-sql-tool --plugin postgres12 --ep "$SQL_HOST" -p "$SQL_PORT" -u "$SQL_USER" "$@"
}

for store in temporal:temporal visibility:temporal_visibility; do
  dir="${SCHEMA_ROOT}/${store%%:*}/versioned"
  db="${store#*:}"
  if sql_tool --db "$db" update-schema -d "$dir"; then
    echo "schema of database ${db} is up to date"
  else
    echo "database ${db} has no Temporal schema yet; setting it up"
    sql_tool --db "$db" setup-schema -v 0.0
    sql_tool --db "$db" update-schema -d "$dir"
  fi
done
echo "Temporal schemas ready"
