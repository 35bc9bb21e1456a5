import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createProviderRegistry,
  ManualProvider,
  parseProviderSettings,
  SandboxProvider,
  UnknownProviderError,
} from '../../src/providers/index.ts';
import { loopback } from '../../src/providers/registry.ts';
import { rankProviders } from '../../src/routing/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('providers_registry');
});
afterAll(async () => {
  await db.drop();
});

describe('createProviderRegistry', () => {
  it('builds the configured providers by name, and routing ranks them', async () => {
    const settings = parseProviderSettings(
      JSON.stringify([
        { name: 'sandbox', kind: 'sandbox', capabilities: { priority: 2 } },
        { name: 'sandbox_b', kind: 'sandbox', capabilities: { priority: 1 }, scenario: { outage: true } },
        { name: 'manual', kind: 'manual' },
      ]),
    );
    const registry = createProviderRegistry(settings, { db });
    expect(registry.names()).toEqual(['sandbox', 'sandbox_b', 'manual']);
    expect(registry.get('sandbox')).toBeInstanceOf(SandboxProvider);
    expect(registry.require('manual')).toBeInstanceOf(ManualProvider);
    expect(registry.get('nope')).toBeUndefined();
    expect(() => registry.require('nope')).toThrow(UnknownProviderError);
    expect(registry.sandboxes()).toHaveLength(2);

    const inputs = await Promise.all(
      registry
        .all()
        .map(async (p) => ({ name: p.name, capabilities: p.capabilities(), health: await p.health() })),
    );
    const req = { method: 'bank_transfer' as const, country: 'US', currency: 'USD', amountMinor: 5_000n };
    const instant = rankProviders(inputs, { ...req, rail: 'instant' });
    expect(instant.candidates.map((c) => c.name)).toEqual(['sandbox']);
    expect(instant.excluded.map((e) => [e.name, e.reasons.map((r) => r.code)])).toEqual([
      ['sandbox_b', ['provider_down']],
      ['manual', ['rail_unsupported']],
    ]);
    expect(rankProviders(inputs, { ...req, rail: 'batch' }).candidates.map((c) => c.name)).toEqual([
      'sandbox',
      'manual',
    ]);
    await registry.stop();
  });
});

describe('deliverSandboxWebhooksTo (npm start: the sandbox confirms through its own API)', () => {
  it('wires sandboxes without a webhookUrl to the API and signs with a secret their parseWebhook accepts', async () => {
    const bodies: { body: Buffer; headers: Record<string, string> }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push({ body: Buffer.concat(chunks), headers: req.headers as Record<string, string> });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const settings = parseProviderSettings(
      JSON.stringify([
        { name: 'sandbox', kind: 'sandbox' },
        { name: 'sandbox_sync', kind: 'sandbox', scenario: { instantConfirmation: 'sync' } },
        { name: 'sandbox_ext', kind: 'sandbox', webhookUrl: 'http://example.test/hooks' },
        { name: 'manual', kind: 'manual' },
      ]),
    );
    const registry = createProviderRegistry(settings, { db });
    try {
      // A wildcard listen address is reached through loopback.
      expect(registry.deliverSandboxWebhooksTo(`http://0.0.0.0:${port}`)).toEqual([
        'sandbox',
        'sandbox_sync',
      ]);
      const [auto, sync, ext] = registry.sandboxes();
      expect(auto!.webhookUrl).toBe(`http://127.0.0.1:${port}/v1/providers/sandbox/webhooks`);
      expect(sync!.webhookUrl).toBe(`http://127.0.0.1:${port}/v1/providers/sandbox_sync/webhooks`);
      expect(ext!.webhookUrl).toBeUndefined(); // a configured url without a secret stays as configured
      // Instant payouts then confirm by webhook, unless the scenario chose otherwise.
      expect(auto!.scenario.instantConfirmation).toBe('webhook');
      expect(sync!.scenario.instantConfirmation).toBe('sync');

      const submit = await auto!.submit({
        idempotencyKey: 'po_local-1',
        payoutId: 'po_local',
        amount: { amount: '1000', currency: 'USD', scale: 2 },
        method: 'bank_transfer',
        rail: 'instant',
        destination: 'US-ACCT-55512345',
        payee: { id: 'pe_local', country: 'US', name: 'Local Payee' },
      });
      expect(submit.state).toBe('pending');
      await auto!.tick();
      expect(bodies).toHaveLength(1);
      const events = auto!.parseWebhook(bodies[0]!.body, bodies[0]!.headers);
      expect(events).toMatchObject([{ type: 'paid', payoutId: 'po_local', idempotencyKey: 'po_local-1' }]);
      expect(() => sync!.parseWebhook(bodies[0]!.body, bodies[0]!.headers)).toThrow(/signature/);
    } finally {
      await registry.stop();
      await new Promise((r) => server.close(r));
    }
  });

  it('loopback: wildcard hosts become loopback, others stay', () => {
    expect(loopback('http://0.0.0.0:3000')).toBe('http://127.0.0.1:3000');
    expect(loopback('http://:::3000')).toBe('http://[::1]:3000');
    expect(loopback('http://127.0.0.1:3000')).toBe('http://127.0.0.1:3000');
    expect(loopback('http://localhost:4000/')).toBe('http://localhost:4000');
  });
});
