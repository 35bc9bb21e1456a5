// The ports `npm start` gives its embedded temporal-dev: fixed defaults (7233 / 7243, so Temporal UI can
// be pointed at them), a taken default falls back to a free port saying so, a taken port that was set is
// an error naming its variable. Held ports here are the test's own free ones: never 7233 itself.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { temporalSection } from '../../src/config/temporal.ts';
import { choosePort, freePort, startEmbeddedTemporal } from '../../src/temporal/embedded-server.ts';

describe('embedded temporal-dev ports', () => {
  let held: Server;
  let heldPort: number;

  beforeAll(async () => {
    held = createServer();
    await new Promise<void>((ok) => held.listen(0, '127.0.0.1', () => ok()));
    heldPort = (held.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((ok) => held.close(() => ok())));

  it('defaults to 7233 and 7243 as the official dev server, configurable, off for no HTTP API', () => {
    const parse = (env: Record<string, string>) => {
      const r = temporalSection.parse(env);
      if (!r.ok) throw new Error(r.problems.join('; '));
      return r.value.embeddedPorts;
    };
    expect(parse({})).toEqual({
      ip: '127.0.0.1',
      grpc: { port: 7233, variable: 'TEMPORAL_DEV_PORT', explicit: false },
      http: { port: 7243, variable: 'TEMPORAL_DEV_HTTP_PORT', explicit: false },
    });
    const set = parse({ TEMPORAL_DEV_PORT: '0', TEMPORAL_DEV_HTTP_PORT: 'off', TEMPORAL_DEV_IP: '0.0.0.0' });
    expect(set).toEqual({ ip: '0.0.0.0', grpc: { port: 0, variable: 'TEMPORAL_DEV_PORT', explicit: true } });
    const bad = temporalSection.parse({ TEMPORAL_DEV_PORT: '70000', TEMPORAL_DEV_HTTP_PORT: 'on' });
    expect(bad.ok).toBe(false);
    expect(bad.ok ? [] : bad.problems.join('\n')).toMatch(/TEMPORAL_DEV_PORT[\s\S]*TEMPORAL_DEV_HTTP_PORT/);
  });

  it('refuses a taken port that was set, naming the variable', async () => {
    await expect(
      choosePort('127.0.0.1', { port: heldPort, variable: 'TEMPORAL_DEV_PORT', explicit: true }, () => {}),
    ).rejects.toThrow(new RegExp(`TEMPORAL_DEV_PORT=${heldPort}: port ${heldPort} .* already in use`));
  });

  it('falls back from a taken default to a free port, saying which variable chooses', async () => {
    const warnings: string[] = [];
    const port = await choosePort(
      '127.0.0.1',
      { port: heldPort, variable: 'TEMPORAL_DEV_HTTP_PORT', explicit: false },
      (m) => warnings.push(m),
    );
    expect(port).not.toBe(heldPort);
    expect(port).toBeGreaterThan(0);
    expect(warnings).toEqual([
      expect.stringMatching(new RegExp(`port ${heldPort} .*TEMPORAL_DEV_HTTP_PORT.*using port ${port}`)),
    ]);
  });

  it('starts temporal-dev with its HTTP API on the chosen port', async () => {
    const httpPort = await freePort();
    const temporal = await startEmbeddedTemporal({
      namespace: 'ports',
      port: { port: 0, variable: 'TEMPORAL_DEV_PORT', explicit: true },
      httpPort: { port: httpPort, variable: 'TEMPORAL_DEV_HTTP_PORT', explicit: true },
    });
    try {
      expect(temporal.httpUrl).toBe(`http://127.0.0.1:${httpPort}`);
      const res = await fetch(`${temporal.httpUrl}/api/v1/namespaces/ports`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { namespaceInfo: { name: string } }).namespaceInfo.name).toBe('ports');
    } finally {
      await temporal.stop();
    }
  });
});
