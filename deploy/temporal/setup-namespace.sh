#!/bin/sh
# Waits for the Temporal frontend, then makes sure Disburse's namespace exists and that the custom
# search attributes operators filter payouts and periods by are registered. Idempotent: existing
# namespace and attributes are left as they are. Keep the attribute list in step with
# src/temporal/search-attributes.ts.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
: "${TEMPORAL_NAMESPACE:?TEMPORAL_NAMESPACE is required}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-30d}"
SEARCH_ATTRIBUTES="PayeeId=Keyword PayoutState=Keyword Provider=Keyword Currency=Keyword PeriodId=Keyword PayoutAmount=Int"

retry() {
  what="$1"
  shift
  attempt=0
  until "$@"; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 60 ]; then
      echo "gave up: ${what} (tried ${attempt} times against ${TEMPORAL_ADDRESS})" >&2
      exit 1
    fi
    echo "waiting: ${what} (attempt ${attempt})"
    sleep 3
  done
}

retry "Temporal cluster health" temporal operator cluster health --address "$TEMPORAL_ADDRESS"

if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
  echo "namespace ${TEMPORAL_NAMESPACE} exists"
else
  retry "create namespace ${TEMPORAL_NAMESPACE}" temporal operator namespace create \
    --namespace "$TEMPORAL_NAMESPACE" --retention "$RETENTION" --address "$TEMPORAL_ADDRESS"
  echo "namespace ${TEMPORAL_NAMESPACE} created (retention ${RETENTION})"
fi

registered() {
  temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" \
    | grep -Eq "(^|[[:space:]])$1([[:space:]]|$)"
}

for pair in $SEARCH_ATTRIBUTES; do
  name="${pair%%=*}"
  type="${pair#*=}"
  if registered "$name"; then
    echo "search attribute ${name} already registered"
    continue
  fi
  retry "register search attribute ${name} (${type})" temporal operator search-attribute create \
    --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type" --address "$TEMPORAL_ADDRESS"
  echo "search attribute ${name} (${type}) registered"
done
echo "Temporal namespace ${TEMPORAL_NAMESPACE} ready"
