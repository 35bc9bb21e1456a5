// Command line of bin/temporal-dev, mirroring how the SDK launches the official binaries:
//   temporal-dev server start-dev --port P --namespace NS --ip IP [--search-attribute N=T]... [--db-filename F]
//   temporal-dev P            (time-skipping test server)
import { flushCompileCache } from 'node:module';
import type { Logger } from './engine.ts';
import { parseSearchAttributeFlag } from './search-attributes.ts';
import { startDevServer } from './server.ts';

interface CliOptions {
  timeSkipping: boolean;
  port: number;
  ip: string;
  namespaces: string[];
  searchAttributes: Array<[string, number]>;
  dbFilename?: string;
  logLevel: string;
}

const levels = ['debug', 'info', 'warn', 'error'];

export function parseArgs(argv: string[], warn: (m: string) => void): CliOptions {
  const opts: CliOptions = {
    timeSkipping: false,
    port: 7233,
    ip: '127.0.0.1',
    namespaces: ['default'],
    searchAttributes: [],
    logLevel: 'warn',
  };
  if (argv[0] === 'server' && argv[1] === 'start-dev') {
    const rest = argv.slice(2);
    for (let i = 0; i < rest.length; i++) {
      const arg = rest[i]!;
      const [flag, inline] =
        arg.includes('=') && arg.startsWith('--')
          ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
          : [arg, undefined];
      const value = (): string => {
        if (inline !== undefined) return inline;
        const v = rest[++i];
        if (v === undefined) throw new Error(`flag ${flag} needs a value`);
        return v;
      };
      switch (flag) {
        case '--port':
        case '-p':
          opts.port = Number(value());
          break;
        case '--ip':
          opts.ip = value();
          break;
        case '--namespace':
        case '-n':
          opts.namespaces.push(value());
          break;
        case '--search-attribute':
          opts.searchAttributes.push(parseSearchAttributeFlag(value()));
          break;
        case '--db-filename':
        case '-f':
          opts.dbFilename = value();
          break;
        case '--log-level':
          opts.logLevel = value();
          break;
        case '--log-format':
        case '--dynamic-config-value':
        case '--ui-port':
        case '--ui-ip':
        case '--http-port':
        case '--metrics-port':
          value();
          break;
        case '--headless':
          break;
        default:
          warn(`temporal-dev: ignoring unknown flag ${arg}`);
      }
    }
  } else if (argv.length >= 1 && /^\d+$/.test(argv[0]!)) {
    opts.timeSkipping = true;
    opts.port = Number(argv[0]);
    opts.ip = '0.0.0.0';
    for (const extra of argv.slice(1)) warn(`temporal-dev: ignoring unknown argument ${extra}`);
  } else {
    throw new Error(
      'usage: temporal-dev server start-dev --port P [--namespace NS] [--ip IP] [--search-attribute Name=Type]... [--db-filename FILE]\n' +
        '       temporal-dev PORT   (time-skipping test server)',
    );
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)
    throw new Error(`invalid port ${opts.port}`);
  if (!levels.includes(opts.logLevel)) opts.logLevel = 'warn';
  return opts;
}

function makeLogger(level: string): Logger {
  const min = levels.indexOf(level);
  const at = (l: string) => (msg: string) => {
    if (levels.indexOf(l) >= min)
      process.stderr.write(`${new Date().toISOString()} ${l.toUpperCase()} ${msg}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function main(): Promise<void> {
  let opts: CliOptions;
  try {
    opts = parseArgs(process.argv.slice(2), (m) => process.stderr.write(`${m}\n`));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const log = makeLogger(opts.logLevel);
  const server = await startDevServer({ ...opts, log });
  let persistence: { flush(): void } | undefined;
  if (opts.dbFilename) {
    const { attachPersistence } = await import('./persistence.ts');
    persistence = await attachPersistence(server.engine, opts.dbFilename, log);
  }
  log.info(
    `temporal-dev ${opts.timeSkipping ? 'time-skipping test server' : 'dev server'} listening on ${opts.ip}:${server.port}`,
  );
  // The SDK stops its servers with SIGKILL, which would lose what Node compiled on this first start.
  flushCompileCache();
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    try {
      persistence?.flush();
    } catch (err) {
      log.error(`temporal-dev: could not save state: ${(err as Error).message}`);
    }
    server.shutdown().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Embedded in `npm start` (src/temporal/embedded-server.ts): stdin is a pipe from the app, and its end
  // means the app died without stopping us.
  if (process.env.TEMPORAL_DEV_EXIT_ON_STDIN_END === '1') {
    process.stdin.on('end', stop).on('error', stop).resume();
  }
}

main().catch((err) => {
  process.stderr.write(`temporal-dev failed to start: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
