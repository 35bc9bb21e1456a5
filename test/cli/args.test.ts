// The two command-line readers without a process: src/cli/args.ts (the npm run CLIs) and
// the temporal-dev package's args.ts (bin/temporal-dev, which must take any command line written for the official
// `temporal server start-dev`).

import { parseArgs as readDevServerArgs } from '@disburse/temporal-dev/args';
import { describe, expect, it } from '@jest/globals';
import { readCommandLine } from '../../src/cli/args.ts';

describe('readCommandLine', () => {
  const spec = {
    usage: 'usage: x',
    options: { n: { type: 'string' as const }, dry: { type: 'boolean' as const } },
  };

  it.each([
    [['--help'], { kind: 'help' }],
    [['-h'], { kind: 'help' }],
    // Asking for help never fails, whatever else is on the line.
    [['--no-such', '--help'], { kind: 'help' }],
    [['--n', '5', '--dry'], { kind: 'run', values: { n: '5', dry: true }, positionals: [] }],
    [['--n=5'], { kind: 'run', values: { n: '5' }, positionals: [] }],
    [['--no-such'], { kind: 'error', message: "Unknown option '--no-such'" }],
    [['--n'], { kind: 'error', message: expect.stringMatching(/--n.*argument missing/) }],
    [['--dry=yes'], { kind: 'error', message: expect.stringMatching(/--dry.*does not take an argument/) }],
    [['extra'], { kind: 'error', message: 'unexpected argument extra' }],
    // After `--` everything is an argument, --help included.
    [['--', '--help'], { kind: 'error', message: 'unexpected argument --help' }],
  ])('%j → %o', (argv, expected) => {
    expect(readCommandLine(spec, argv)).toEqual(expected);
  });
});

describe('temporal-dev command line', () => {
  const startDev = (...flags: string[]) => readDevServerArgs(['server', 'start-dev', ...flags]);

  it('reads the command line the SDK starts the dev server with', () => {
    expect(
      startDev(
        ...['--port', '7777', '--namespace', 'payouts', '--ip', '127.0.0.1', '--headless'],
        ...['--log-format', 'pretty', '--log-level', 'warn', '--db-filename', '/tmp/x.db'],
        ...['--search-attribute', 'PayeeId=Keyword', '--search-attribute=Amount=Int'],
      ),
    ).toEqual({
      kind: 'run',
      options: {
        timeSkipping: false,
        port: 7777,
        ip: '127.0.0.1',
        namespaces: ['default', 'payouts'],
        searchAttributes: ['PayeeId=Keyword', 'Amount=Int'],
        dbFilename: '/tmp/x.db',
        logLevel: 'warn',
        dynamicConfig: {},
      },
    });
  });

  it('reads --dynamic-config-value KEY=JSON pairs and refuses a value that is not JSON', () => {
    const line = startDev(
      '--dynamic-config-value',
      'limit.blobSize.error=1024',
      '--dynamic-config-value=a.b="x"',
    );
    expect(line.kind === 'run' && line.options.dynamicConfig).toEqual({
      'limit.blobSize.error': 1024,
      'a.b': 'x',
    });
    const bad = startDev('--dynamic-config-value', 'limit.blobSize.error=lots');
    expect(bad.kind === 'error' && bad.message).toMatch(/must be JSON/);
    expect(startDev('--dynamic-config-value', 'novalue').kind).toBe('error');
  });

  // Every flag of the official start-dev (and its global flags) is accepted, in both spellings.
  it.each([
    ['--http-port', '0'],
    ['--metrics-port', '0'],
    ['--ui-port', '0'],
    ['--ui-ip', '0.0.0.0'],
    ['--ui-public-path', '/ui'],
    ['--ui-asset-path', '/x'],
    ['--ui-codec-endpoint', 'http://codec'],
    ['--sqlite-pragma', 'journal_mode=wal'],
    ['--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true'],
    ['--env', 'default'],
    ['--env-file', '/x'],
    ['--config-file', '/x'],
    ['--profile', 'p'],
    ['-o', 'json'],
    ['--time-format', 'iso'],
    ['--color', 'never'],
    ['--command-timeout', '5s'],
    ['--client-connect-timeout', '5s'],
    ['-p', '7234'],
    ['-n', 'other'],
    ['-f', '/tmp/y.db'],
  ])('accepts %s %s', (flag, value) => {
    expect(startDev(flag, value).kind).toBe('run');
    expect(startDev(`${flag}=${value}`).kind).toBe('run');
  });

  it.each([
    '--headless',
    '--ui-disable-news-fetch',
    '--log-config',
    '--disable-config-file',
    '--disable-config-env',
    '--no-json-shorthand-payloads',
  ])('accepts the boolean %s', (flag) => {
    expect(startDev(flag, '--port', '1').kind).toBe('run');
    expect(startDev(`${flag}=false`).kind).toBe('run');
  });

  it('reads --tls-cert/--tls-key/--tls-ca, which go together', () => {
    const tls = { cert: 's.pem', key: 's.key', ca: 'ca.pem' };
    const line = startDev('--tls-cert', 's.pem', '--tls-key=s.key', '--tls-ca', 'ca.pem');
    expect(line).toEqual({ kind: 'run', options: expect.objectContaining({ tls }) });
    for (const partial of [
      ['--tls-cert', 's.pem'],
      ['--tls-ca', 'ca.pem'],
      ['--tls-key', 's.key'],
    ]) {
      expect(startDev(...partial)).toEqual({ kind: 'error', message: expect.stringMatching(/go together/) });
    }
  });

  it.each([
    [['--help'], { kind: 'help' }],
    [['server', 'start-dev', '-h'], { kind: 'help' }],
    [['help'], { kind: 'help' }],
    [
      ['server', 'start-dev', '--brand-new-flag', 'x'],
      { kind: 'error', message: 'unknown flag --brand-new-flag' },
    ],
    [['server', 'start-dev', 'stray'], { kind: 'error', message: 'unexpected argument stray' }],
    [
      ['server', 'start-dev', '--port', '7e3'],
      { kind: 'error', message: expect.stringMatching(/invalid port "7e3"/) },
    ],
    [
      ['server', 'start-dev', '--db-filename'],
      { kind: 'error', message: 'flag --db-filename needs a value' },
    ],
    [['server', 'stop'], { kind: 'error', message: 'unknown command server stop' }],
    [
      ['7233', '--enable-time-skipping'],
      { kind: 'run', options: expect.objectContaining({ timeSkipping: true, port: 7233, ip: '0.0.0.0' }) },
    ],
    [['7233', '--other'], { kind: 'error', message: 'unexpected argument --other' }],
  ])('%j → %o', (argv, expected) => {
    expect(readDevServerArgs(argv)).toEqual(expected);
  });
});
