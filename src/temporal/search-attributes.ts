// Custom search attributes operators filter payouts and periods by in Temporal UI. The same list is
// registered by docker-compose (temporal operator search-attribute create) and by `npm start`.
import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

// @temporalio/proto is CommonJS: take the namespace from its default export.
const { INDEXED_VALUE_TYPE_KEYWORD, INDEXED_VALUE_TYPE_INT } = proto.temporal.api.enums.v1.IndexedValueType;

export const searchAttributes = {
  PayeeId: 'Keyword',
  PayoutState: 'Keyword',
  Provider: 'Keyword',
  Currency: 'Keyword',
  PeriodId: 'Keyword',
  PayoutAmount: 'Int',
} as const;

/** `--search-attribute NAME=TYPE` flags for bin/temporal-dev and the official dev server. */
export function searchAttributeFlags(): string[] {
  return Object.entries(searchAttributes).flatMap(([name, type]) => [
    '--search-attribute',
    `${name}=${type}`,
  ]);
}

/** Registers any missing attribute on a running server (idempotent). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.entries(searchAttributes).filter(
    ([name]) => !(name in (existing.customAttributes ?? {})),
  );
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map(([name, type]) => [
        name,
        type === 'Int' ? INDEXED_VALUE_TYPE_INT : INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
}
