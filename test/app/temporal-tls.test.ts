// Client and worker connect through the TEMPORAL_* variables and a profile file (@temporalio/envconfig)
// over mTLS to bin/temporal-dev serving TLS; a certificate from another CA, no certificate, and plain
// text are refused.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import { connectTemporal, type TemporalHandle } from '../../src/app/runtime.ts';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { type Child, spawnUntil } from '../faults/processes.ts';
import { installQuietLogger, quietBundlerLogger, TEMPORAL_DEV_PATH } from '../support/temporal.ts';

const dir = mkdtempSync(join(tmpdir(), 'disburse-tls-'));
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, and `names` certificates it signs (server: SAN localhost). */
function makeCa(ca: string, names: string[]): void {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${ca}`,
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.pem`,
  );
  for (const name of names) {
    writeFileSync(file(`${name}.ext`), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  }
}

let server: Child;
let address: string;
const handles: TemporalHandle[] = [];

function tlsEnv(extra: Record<string, string>): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: `tls-${randomBytes(4).toString('hex')}`,
    TEMPORAL_CONFIG_FILE: file('none.toml'),
    ...extra,
  };
}

async function connect(env: Record<string, string>): Promise<TemporalHandle> {
  const handle = await connectTemporal(loadConfig(env), { allowEmbedded: false });
  handles.push(handle);
  return handle;
}

beforeAll(async () => {
  installQuietLogger();
  makeCa('ca', ['server', 'client']);
  makeCa('rogue-ca', ['rogue']);
  // Keeps a developer's ~/.config/temporalio/temporal.toml out of the test.
  writeFileSync(file('none.toml'), '[profile.default]\n');
  server = await spawnUntil(
    'temporal-dev',
    TEMPORAL_DEV_PATH,
    [
      'server',
      'start-dev',
      '--port',
      '0',
      '--log-level',
      'info',
      '--tls-cert',
      file('server.pem'),
      '--tls-key',
      file('server.key'),
      '--tls-ca',
      file('ca.pem'),
    ],
    { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    /dev server listening on [\d.]+:\d+/,
  );
  address = `127.0.0.1:${/listening on [\d.]+:(\d+)/.exec(server.output())![1]}`;
}, 120_000);

afterAll(async () => {
  for (const h of handles) await h.close().catch(() => {});
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('Temporal over mTLS', () => {
  test('worker and client connected by TEMPORAL_TLS_* variables run a workflow; a profile file works too', async () => {
    const env = tlsEnv({
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key'),
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    });
    const temporal = await connect(env);
    const taskQueue = env.TEMPORAL_TASK_QUEUE!;
    const worker = await Worker.create({
      connection: temporal.native,
      taskQueue,
      workflowBundle: await bundleWorkflowCode({
        workflowsPath: fileURLToPath(new URL('./fixtures/tls-workflow.ts', import.meta.url)),
        logger: quietBundlerLogger,
      }),
      activities: { echo: async (text: string) => `activity saw ${text}` },
    });
    // The starting client reads a profile (certificates inline, as _data) instead of variables.
    const pem = (name: string) => JSON.stringify(readFileSync(file(name), 'utf8'));
    writeFileSync(
      file('temporal.toml'),
      [
        '[profile.secured]',
        `address = "${address}"`,
        'namespace = "default"',
        '[profile.secured.tls]',
        'server_name = "localhost"',
        `server_ca_cert_data = ${pem('ca.pem')}`,
        `client_cert_data = ${pem('client.pem')}`,
        `client_key_data = ${pem('client.key')}`,
        '',
      ].join('\n'),
    );
    const fromProfile = await connect({
      TEMPORAL_CONFIG_FILE: file('temporal.toml'),
      TEMPORAL_PROFILE: 'secured',
    });
    expect(fromProfile.address).toBe(address);
    const result = await worker.runUntil(
      fromProfile.client.workflow.execute('tlsRoundTrip', {
        taskQueue,
        workflowId: `tls-${randomBytes(4).toString('hex')}`,
        args: ['hello'],
      }),
    );
    expect(result).toBe('workflow saw activity saw hello');
    // The variables' own client reads it back over its connection.
    const described = await temporal.client.workflow.list({ query: `TaskQueue = "${taskQueue}"` });
    const seen: string[] = [];
    for await (const w of described) seen.push(w.type);
    expect(seen).toEqual(['tlsRoundTrip']);
  }, 180_000);

  test('a client certificate signed by another CA, no certificate, and plain text are refused', async () => {
    const serverTrust = {
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    };
    const rogue = {
      ...serverTrust,
      TEMPORAL_TLS_CLIENT_CERT_PATH: file('rogue.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: file('rogue.key'),
    };
    const refused = async (env: Record<string, string>) => {
      const error = await connect(tlsEnv(env)).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(ConfigError); // the settings were valid: the server said no
      expect(error!.message).toMatch(/Failed to connect before the deadline/);
    };
    await refused(rogue);
    await refused(serverTrust);
    await refused({});
    // The worker's own (Rust core) connection is refused as well.
    const { connection } = loadConfig(tlsEnv(rogue)).temporal;
    await expect(NativeConnection.connect({ address, ...connection })).rejects.toThrow();
    // The same server still takes the right certificate: the refusals were the certificates'.
    const good = await connect(
      tlsEnv({
        ...serverTrust,
        TEMPORAL_TLS_CLIENT_CERT_DATA: readFileSync(file('client.pem'), 'utf8'),
        TEMPORAL_TLS_CLIENT_KEY_DATA: readFileSync(file('client.key'), 'utf8'),
      }),
    );
    expect((await good.connection.workflowService.getSystemInfo({})).serverVersion).toMatch(/\d/);
  }, 180_000);
});

describe('connection settings', () => {
  test('an API key implies TLS; settings that cannot connect are configuration problems', () => {
    const cloud = loadConfig({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.acct',
      TEMPORAL_API_KEY: 'key-1',
      TEMPORAL_CONFIG_FILE: file('none.toml'),
    }).temporal;
    expect(cloud.connection).toEqual({ apiKey: 'key-1', tls: true });
    expect(cloud.namespace).toBe('ns.acct');
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ TEMPORAL_CONFIG_FILE: file('none.toml'), ...env });
      } catch (error) {
        if (error instanceof ConfigError) return error.problems.join('\n');
        throw error;
      }
      return '';
    };
    expect(problems({ TEMPORAL_API_KEY: 'k' })).toMatch(/^TEMPORAL_ADDRESS: must be set/m);
    expect(problems({ TEMPORAL_PROFILE: 'missing' })).toMatch(/^TEMPORAL_PROFILE: .*missing/m);
    expect(problems({ TEMPORAL_ADDRESS: 'a:1', TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.pem') })).toMatch(
      /^TEMPORAL_TLS_CLIENT_KEY_PATH: /m,
    );
    expect(problems({ TEMPORAL_ADDRESS: 'a:1', TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).toMatch(
      /^TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: /m,
    );
    expect(problems({ TEMPORAL_TLS: 'yes' })).toMatch(/^TEMPORAL_TLS: /m);
    // A profile file without any profile is no profile: the variables alone apply.
    writeFileSync(file('empty.toml'), '# nothing yet\n');
    const bare = loadConfig({ TEMPORAL_CONFIG_FILE: file('empty.toml'), TEMPORAL_ADDRESS: 'a:1' }).temporal;
    expect([bare.address, bare.namespace, bare.connection]).toEqual(['a:1', 'default', {}]);
    expect(problems({ TEMPORAL_CONFIG_FILE: file('empty.toml'), TEMPORAL_PROFILE: 'x' })).toMatch(
      /^TEMPORAL_PROFILE: Profile 'x' not found/m,
    );
    expect(problems({ TEMPORAL_CONFIG_FILE: file('absent.toml'), TEMPORAL_ADDRESS: 'a:1' })).toMatch(
      /^TEMPORAL_CONFIG_FILE: no such file/m,
    );
  });
});
