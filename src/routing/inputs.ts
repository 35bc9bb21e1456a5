// What routing ranks each provider by: its health first, then its capabilities. health() refreshes a
// provider's own capability lookup (Stripe's country spec, Wise's balances, Circle's stablecoins), so
// capabilities() read after it is the provider's latest answer, not the one before. A provider whose health
// check throws or does not answer in time counts as down: it cannot slow or break routing for the others,
// and a down provider's capability lookup is not waited for (adapters skip it when their ping fails).
import type { PayoutProvider, ProviderHealth } from '../providers/types.ts';
import type { RankInput } from './rank.ts';

/** How long routing waits for one provider's health() before counting it down (ms). */
export const HEALTH_WAIT_MS = 5_000;

export async function rankInputs(
  providers: readonly PayoutProvider[],
  o: { healthWaitMs?: number } = {},
): Promise<RankInput[]> {
  const waitMs = o.healthWaitMs ?? HEALTH_WAIT_MS;
  return Promise.all(
    providers.map(async (p): Promise<RankInput> => {
      const health = await healthWithin(p, waitMs);
      return { name: p.name, capabilities: p.capabilities(), health };
    }),
  );
}

async function healthWithin(p: PayoutProvider, waitMs: number): Promise<ProviderHealth> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ProviderHealth>((resolve) => {
    timer = setTimeout(
      () => resolve({ status: 'down', detail: `health check did not answer within ${waitMs} ms` }),
      waitMs,
    );
  });
  const asked = Promise.resolve()
    .then(() => p.health())
    .catch(
      (err: unknown): ProviderHealth => ({
        status: 'down',
        detail: `health check failed: ${err instanceof Error ? err.message : String(err)}`,
      }),
    );
  try {
    return await Promise.race([asked, late]);
  } finally {
    clearTimeout(timer);
  }
}
