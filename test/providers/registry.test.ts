import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createProviderRegistry,
  ManualProvider,
  parseProviderSettings,
  SandboxProvider,
  UnknownProviderError,
} from '../../src/providers/index.ts';
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
