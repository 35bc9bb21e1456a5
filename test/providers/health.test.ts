// Health of every real adapter against its fake, one table: a provider we cannot reach (port closed, or no
// answer in time) or whose credentials are refused is `down`, so routing fails over and schedules for
// `providers_down`; a 503 on the health check is `degraded` — it answers, just struggling. All four map a
// failed check through the one rule, healthOfFailure (src/providers/shared/http-outcome.ts).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CircleProvider } from '../../src/providers/circle/provider.ts';
import { PaypalProvider } from '../../src/providers/paypal/provider.ts';
import { Secret } from '../../src/providers/shared/secrets.ts';
import { StripeProvider } from '../../src/providers/stripe/provider.ts';
import type { PayoutProvider } from '../../src/providers/types.ts';
import { WiseProvider } from '../../src/providers/wise/provider.ts';
import { freePort } from '../../src/temporal/embedded-server.ts';
import { FakeCircle } from '../fakes/circle/server.ts';
import { FakePaypal } from '../fakes/paypal/server.ts';
import type { FaultMatch } from '../fakes/shared/http.ts';
import { FakeStripe } from '../fakes/stripe/server.ts';
import { FakeWise } from '../fakes/wise/server.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/** The faults every fake can inject that these tests use. */
type HealthFault = FaultMatch & ({ kind: 'status'; status: number } | { kind: 'latency'; ms: number });

interface Running {
  url: string;
  inject(f: HealthFault): void;
  stop(): Promise<void>;
}

interface Adapter {
  name: string;
  /** The call health() makes. */
  probe: { method: string; path: RegExp };
  fake(): Promise<Running>;
  /** The adapter at `apiBase`, with the fake's credentials or refused ones. */
  provider(apiBase: string, o: { refused?: boolean; timeoutMs: number }): PayoutProvider;
}

let db: TestDatabase;

async function running<
  F extends { url: string; faults: unknown[]; start(): Promise<string>; stop(): Promise<void> },
>(fake: F): Promise<Running> {
  await fake.start();
  return { url: fake.url, inject: (f) => fake.faults.push(f), stop: () => fake.stop() };
}

const STRIPE_KEY = 'sk_test_health0123456789';
const PAYPAL = {
  clientId: 'AhealthClientId0123',
  clientSecret: 'EhealthSecret456789',
  webhookId: 'WH-HEALTH',
};
const CIRCLE_KEY = `SAND_API_KEY:${randomBytes(16).toString('hex')}:${randomBytes(16).toString('hex')}`;
const WISE = { token: 'wise-health-token-0123456789abcdef', profileId: 4242 };
const CIRCLE_WALLET = '1000216185';

const adapters: Adapter[] = [
  {
    name: 'stripe',
    probe: { method: 'GET', path: /^\/v1\/balance$/ },
    fake: () => running(new FakeStripe({ secretKey: STRIPE_KEY })),
    provider: (apiBase, o) =>
      new StripeProvider({
        name: 'stripe',
        db,
        secretKey: new Secret(o.refused ? 'sk_test_refused000' : STRIPE_KEY, 'TEST'),
        webhookSecrets: [],
        apiBase,
        timeoutMs: o.timeoutMs,
      }),
  },
  {
    name: 'paypal',
    probe: { method: 'POST', path: /^\/v1\/oauth2\/token$/ },
    fake: () => running(new FakePaypal(PAYPAL)),
    provider: (apiBase, o) =>
      new PaypalProvider({
        name: 'paypal',
        db,
        clientId: new Secret(PAYPAL.clientId, 'TEST'),
        clientSecret: new Secret(o.refused ? 'ErefusedSecret0000' : PAYPAL.clientSecret, 'TEST'),
        webhookIds: [new Secret(PAYPAL.webhookId, 'TEST')],
        apiBase,
        timeoutMs: o.timeoutMs,
      }),
  },
  {
    name: 'circle',
    probe: { method: 'GET', path: /^\/v1\/balances$/ },
    fake: () => running(new FakeCircle({ apiKey: CIRCLE_KEY, walletId: CIRCLE_WALLET })),
    provider: (apiBase, o) =>
      new CircleProvider({
        name: 'circle',
        db,
        apiKey: new Secret(o.refused ? 'SAND_API_KEY:00000000:00000000' : CIRCLE_KEY, 'TEST'),
        walletId: CIRCLE_WALLET,
        apiBase,
        timeoutMs: o.timeoutMs,
      }),
  },
  {
    name: 'wise',
    probe: { method: 'GET', path: /^\/v1\/profiles\/\d+$/ },
    fake: () => running(new FakeWise(WISE)),
    provider: (apiBase, o) =>
      new WiseProvider({
        name: 'wise',
        db,
        profileId: WISE.profileId,
        apiToken: new Secret(o.refused ? 'wise-refused-token-0000000000' : WISE.token, 'TEST'),
        webhookPublicKeys: [],
        apiBase,
        timeoutMs: o.timeoutMs,
      }),
  },
];

beforeAll(async () => {
  db = await createTestDatabase('provider_health');
});
afterAll(async () => {
  await db?.drop();
});

describe.each(adapters)('$name health against its fake', (a) => {
  let fake: Running;
  const healthy = (o: { refused?: boolean; timeoutMs?: number } = {}) =>
    a.provider(fake.url, { timeoutMs: 5_000, ...o }).health();

  beforeAll(async () => {
    fake = await a.fake();
  });
  afterAll(async () => {
    await fake?.stop();
  });

  it('answering with the right credentials: up', async () => {
    expect(await healthy()).toEqual({ status: 'up' });
  });

  it('unreachable (nothing listens on the port): down', async () => {
    const closed = a.provider(`http://127.0.0.1:${await freePort()}`, { timeoutMs: 5_000 });
    expect(await closed.health()).toEqual({ status: 'down', detail: 'connection_refused' });
  });

  it('no answer in time: down', async () => {
    // Held far longer than the adapter waits, so how fast the machine is cannot change the outcome.
    fake.inject({ kind: 'latency', ms: 3_000, ...a.probe });
    expect(await healthy({ timeoutMs: 300 })).toEqual({ status: 'down', detail: 'gateway_timeout' });
  });

  it('credentials refused: down', async () => {
    expect((await healthy({ refused: true })).status).toBe('down');
  });

  it('503 on the health check: degraded, and up again once it answers', async () => {
    fake.inject({ kind: 'status', status: 503, ...a.probe });
    expect((await healthy()).status).toBe('degraded');
    expect(await healthy()).toEqual({ status: 'up' });
  });
});
