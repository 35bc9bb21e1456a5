// Command line of bin/temporal-dev, as the SDK launches the official binaries:
//   temporal-dev server start-dev --port P --namespace NS --ip IP [--search-attribute N=T]... [--db-filename F]
//   temporal-dev P            (time-skipping test server, like the Java test server)
// Every flag of the official `temporal server start-dev` is accepted (those without meaning here are
// ignored), so a command line written for it works unchanged; anything else is an error, as it is there.
// Pure: no proto or server module is loaded (the caller checks search attribute types), so `--help` and
// a bad command line are answered at once and write nothing.

export interface CliOptions {
  timeSkipping: boolean;
  port: number;
  /** The HTTP API's port (--http-port); unset = no HTTP API. */
  httpPort?: number;
  ip: string;
  namespaces: string[];
  /** As given, NAME=TYPE: the type is checked by search-attributes.ts, which needs the protos. */
  searchAttributes: string[];
  dbFilename?: string;
  logLevel: string;
  /** --dynamic-config-value KEY=JSON pairs (limits.ts reads the keys it knows). */
  dynamicConfig: Record<string, unknown>;
  /** PEM files: serve TLS with cert+key; with ca, client certificates signed by it are required (mTLS). */
  tls?: { cert?: string; key?: string; ca?: string };
}

export const levels = ['debug', 'info', 'warn', 'error'];

export type DevServerCommandLine =
  | { kind: 'help' }
  /** `temporal-dev workflow|schedule VERB …`: the operator client (admin-cli.ts), its own --help. */
  | { kind: 'admin'; group: string; argv: string[] }
  | { kind: 'error'; message: string }
  | { kind: 'run'; options: CliOptions };

/** Flags of the official start-dev (and its global flags) that have no meaning here: value or boolean. */
const ignoredWithValue = [
  '--metrics-port',
  '--ui-port',
  '--ui-ip',
  '--ui-public-path',
  '--ui-asset-path',
  '--ui-codec-endpoint',
  '--sqlite-pragma',
  '--log-format',
  '--env',
  '--env-file',
  '--config-file',
  '--profile',
  '--output',
  '-o',
  '--time-format',
  '--color',
  '--command-timeout',
  '--client-connect-timeout',
];
const ignoredBoolean = [
  '--headless',
  '--ui-disable-news-fetch',
  '--log-config',
  '--disable-config-file',
  '--disable-config-env',
  '--no-json-shorthand-payloads',
];

export const usage = `usage: temporal-dev server start-dev [--port P] [--ip IP] [--namespace NS]...
                                   [--search-attribute NAME=TYPE]... [--db-filename FILE] [--log-level L]
       temporal-dev PORT     time-skipping test server (serves TestService too; binds 0.0.0.0)
       temporal-dev workflow list|describe|show|signal|cancel|terminate|reset [flags]
       temporal-dev schedule list|describe|trigger [flags]   (VERB --help for its flags)

Offline Temporal-compatible dev server for development and tests (see packages/temporal-dev/README.md); the SDK
starts it in place of \`temporal server start-dev\` and the Java test server.
  -p, --port P                   frontend gRPC port (default 7233)
  --http-port P                  also serve the Temporal HTTP API (/api/v1/…) on P (0 = a free port;
                                 default: none)
  --ip IP                        address to bind (default 127.0.0.1)
  -n, --namespace NS             namespace to create besides "default"; repeatable
  --search-attribute NAME=TYPE   custom search attribute, TYPE one of Text, Keyword, Int, Double, Bool,
                                 Datetime, KeywordList; repeatable
  -f, --db-filename FILE         keep state in FILE across restarts (default: in memory)
  --log-level L                  debug, info, warn or error on stderr (default warn)
  --dynamic-config-value K=JSON  a server limit, as the real server reads it: limit.blobSize.error,
                                 limit.blobSize.warn, limit.maxIDLength, history.maxInFlightUpdates,
                                 history.maxTotalUpdates, limit.historyCount.suggestContinueAsNew,
                                 limit.historySize.suggestContinueAsNew (other keys are ignored)
  --tls-cert FILE --tls-key FILE serve TLS with this certificate and private key (PEM)
  --tls-ca FILE                  also require client certificates signed by this CA (mTLS; needs
                                 --tls-cert and --tls-key)
  -h, --help                     print this help and exit

Accepted and ignored, as flags of \`temporal server start-dev\` without meaning here:
  ${ignoredBoolean.join(' ')}
  ${ignoredWithValue.join(' ')} (each with a value)`;

function port(v: string): number {
  const n = /^\d{1,5}$/.test(v) ? Number(v) : Number.NaN;
  if (!(n >= 0 && n <= 65535)) throw new Error(`invalid port ${JSON.stringify(v)}: expected 0-65535`);
  return n;
}

type Setter = (opts: CliOptions, value: string) => void;

function startDevFlags(): Map<string, Setter> {
  const setters: Array<[string[], Setter]> = [
    [
      ['--port', '-p'],
      (o, v) => {
        o.port = port(v);
      },
    ],
    [
      ['--http-port'],
      (o, v) => {
        o.httpPort = port(v);
      },
    ],
    [
      ['--ip'],
      (o, v) => {
        o.ip = v;
      },
    ],
    [['--namespace', '-n'], (o, v) => o.namespaces.push(v)],
    [['--search-attribute'], (o, v) => o.searchAttributes.push(v)],
    [
      ['--db-filename', '-f'],
      (o, v) => {
        o.dbFilename = v;
      },
    ],
    [
      ['--log-level'],
      (o, v) => {
        // Levels the official CLI has and this one not (never) fall back to the default.
        o.logLevel = levels.includes(v) ? v : 'warn';
      },
    ],
    ...(['cert', 'key', 'ca'] as const).map((name): [string[], Setter] => [
      [`--tls-${name}`],
      (o, v) => {
        o.tls = { ...o.tls, [name]: v };
      },
    ]),
    [
      ['--dynamic-config-value'],
      (o, v) => {
        const eq = v.indexOf('=');
        if (eq <= 0)
          throw new Error(`invalid --dynamic-config-value ${JSON.stringify(v)}: expected KEY=JSON_VALUE`);
        try {
          o.dynamicConfig[v.slice(0, eq)] = JSON.parse(v.slice(eq + 1));
        } catch {
          throw new Error(
            `invalid --dynamic-config-value ${JSON.stringify(v)}: the value must be JSON, e.g. 1048576 or "text"`,
          );
        }
      },
    ],
    [ignoredWithValue, () => {}],
  ];
  return new Map(setters.flatMap(([names, set]) => names.map((n) => [n, set] as const)));
}

function startDev(rest: string[]): CliOptions {
  const opts: CliOptions = {
    timeSkipping: false,
    port: 7233,
    ip: '127.0.0.1',
    namespaces: ['default'],
    searchAttributes: [],
    logLevel: 'warn',
    dynamicConfig: {},
  };
  const flags = startDevFlags();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (ignoredBoolean.includes(flag)) continue;
    const set = flags.get(flag);
    if (!set) {
      throw new Error(flag.startsWith('-') ? `unknown flag ${flag}` : `unexpected argument ${arg}`);
    }
    const value = inline ?? rest[++i];
    if (value === undefined) throw new Error(`flag ${flag} needs a value`);
    set(opts, value);
  }
  if (opts.tls && !(opts.tls.cert && opts.tls.key)) {
    throw new Error('--tls-cert and --tls-key go together (and --tls-ca needs both)');
  }
  return opts;
}

/** Reads argv (without node and script). */
export function parseArgs(argv: string[]): DevServerCommandLine {
  if (argv[0] === 'workflow' || argv[0] === 'schedule')
    return { kind: 'admin', group: argv[0], argv: argv.slice(1) };
  if (argv.some((a) => a === '--help' || a === '-h') || argv[0] === 'help') return { kind: 'help' };
  try {
    if (argv[0] === 'server' && argv[1] === 'start-dev') {
      return { kind: 'run', options: startDev(argv.slice(2)) };
    }
    if (argv.length >= 1 && /^\d+$/.test(argv[0]!)) {
      // The Java test server's own flag: time skipping is what this mode is.
      const extra = argv.slice(1).filter((a) => a !== '--enable-time-skipping');
      if (extra.length > 0) throw new Error(`unexpected argument ${extra[0]}`);
      const options: CliOptions = {
        timeSkipping: true,
        port: port(argv[0]!),
        ip: '0.0.0.0',
        namespaces: ['default'],
        searchAttributes: [],
        logLevel: 'warn',
        dynamicConfig: {},
      };
      return { kind: 'run', options };
    }
    throw new Error(argv.length === 0 ? 'no command given' : `unknown command ${argv.join(' ')}`);
  } catch (error) {
    return { kind: 'error', message: (error as Error).message };
  }
}
