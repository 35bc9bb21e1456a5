// Routing asks each provider's health() before its capabilities(): health refreshes the provider's own
// capability lookup, so the first payout routed already sees it. A provider that is down, that throws, or whose
// health check does not answer is excluded as down without holding up the others; a down provider's lookup is
// not even asked. Real adapters against the local fake Wise, and the sandbox.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SandboxProvider } from '../../src/providers/sandbox/provider.ts';
import { Secret } from '../../src/providers/shared/secrets.ts';
import type { PayoutProvider, ProviderHealth } from '../../src/providers/types.ts';
import { WiseProvider } from '../../src/providers/wise/provider.ts';
import { rankInputs, rankProviders } from '../../src/routing/index.ts';
import { FakeWise } from '../fakes/wise/server.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

const TOKEN = 'wise-route-token-0123456789abcdef';
const PROFILE = 5151;
let db: TestDatabase;
let fake: FakeWise;

const eurPayout = {
  method: 'bank_transfer' as const,
  country: 'DE',
  currency: 'EUR',
  amountMinor: 5_000n,
  rail: 'batch' as const,
};

function wise(o: { apiBase?: string; timeoutMs?: number } = {}): WiseProvider {
  return new WiseProvider({
    name: 'wise',
    db,
    profileId: PROFILE,
    apiToken: new Secret(TOKEN, 'TEST'),
    webhookPublicKeys: [new Secret(fake.publicKey, 'TEST')],
    apiBase: o.apiBase ?? fake.url,
    timeoutMs: o.timeoutMs ?? 5_000,
    capabilities: { priority: 1 },
  });
}

const sandbox = (name = 'sandbox') =>
  new SandboxProvider({ name, db, capabilities: { priority: 5, methods: ['bank_transfer'] } });

/** A provider whose health check behaves as given (throws, never answers); the rest is the sandbox's. */
function withHealth(name: string, health: () => Promise<ProviderHealth>): PayoutProvider {
  const p = sandbox(name);
  p.health = health;
  return p;
}

beforeAll(async () => {
  db = await createTestDatabase('route_health');
  // The profile holds USD only: Wise can fund nothing else, whatever the configuration says.
  fake = new FakeWise({ token: TOKEN, profileId: PROFILE, balances: { USD: 1_000_000n } });
  await fake.start();
});
afterEach(() => {
  fake.faults = [];
});
afterAll(async () => {
  await fake?.stop();
  await db?.drop();
});

const balanceLookups = () => fake.requests.filter((r) => r.path.endsWith('/balances')).length;

describe('routing inputs', () => {
  it("the first payout routed already uses the provider's own capability answer", async () => {
    const inputs = await rankInputs([wise(), sandbox()]);
    const w = inputs.find((i) => i.name === 'wise')!;
    expect(w.health.status).toBe('up');
    expect(w.capabilities.currencies).toEqual(['USD']);
    const ranking = rankProviders(inputs, eurPayout);
    expect(ranking.candidates.map((c) => c.name)).toEqual(['sandbox']);
    expect(ranking.excluded).toEqual([
      { name: 'wise', reasons: [{ code: 'currency_unsupported', message: 'currency EUR not supported' }] },
    ]);
  });

  it('a down provider (its credentials refused) is excluded as down and its capability lookup is not asked', async () => {
    fake.faults = [{ kind: 'status', status: 401, method: 'GET', path: /^\/v1\/profiles\//, times: 5 }];
    const before = balanceLookups();
    const inputs = await rankInputs([wise(), sandbox()]);
    expect(inputs.find((i) => i.name === 'wise')!.health.status).toBe('down');
    expect(balanceLookups()).toBe(before);
    const ranking = rankProviders(inputs, { ...eurPayout, currency: 'USD', country: 'US' });
    expect(ranking.candidates.map((c) => c.name)).toEqual(['sandbox']);
    expect(ranking.excluded.map((e) => [e.name, e.reasons.map((r) => r.code)])).toEqual([
      ['wise', ['provider_down']],
    ]);
  });

  it('a provider unreachable is down; one whose health() throws counts as down too', async () => {
    const unreachable = wise({ apiBase: 'http://127.0.0.1:9', timeoutMs: 1_000 });
    const broken = withHealth('broken', () => Promise.reject(new Error('socket hang up')));
    const inputs = await rankInputs([unreachable, broken, sandbox()]);
    const health = Object.fromEntries(inputs.map((i) => [i.name, i.health]));
    expect(health.wise?.status).toBe('down');
    expect(health.broken).toEqual({ status: 'down', detail: 'health check failed: socket hang up' });
    expect(health.sandbox).toEqual({ status: 'up' });
  });

  it('a health check that never answers is counted down after the wait, not waited for', async () => {
    const silent = withHealth('silent', () => new Promise(() => undefined));
    const inputs = await rankInputs([silent, sandbox()], { healthWaitMs: 50 });
    expect(inputs.map((i) => [i.name, i.health.status])).toEqual([
      ['silent', 'down'],
      ['sandbox', 'up'],
    ]);
    expect(inputs[0]!.health.detail).toMatch(/did not answer within 50 ms/);
  });

  it('a first capability lookup that does not answer: the configured capabilities hold, health is up', async () => {
    fake.faults = [{ kind: 'latency', ms: 3_000, method: 'GET', path: /\/balances$/ }];
    const w = wise({ timeoutMs: 2_500 });
    const [input] = await rankInputs([w]);
    expect(input!.health.status).toBe('up');
    expect(input!.capabilities.currencies).toEqual(['EUR', 'GBP', 'USD']);
  });
});
