// For tests of code on Temporal: a TestWorkflowEnvironment backed by this package's temporal-dev, or by the
// official binaries when TEMPORAL_TEST_SERVER_PATH (time-skipping) / TEMPORAL_CLI_PATH (dev server) are set.
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';

/** The launcher (bin/temporal-dev of this package). */
export const TEMPORAL_DEV_PATH = fileURLToPath(new URL('../bin/temporal-dev', import.meta.url));

export type SearchAttributeTypeName =
  | 'Keyword'
  | 'Text'
  | 'Int'
  | 'Double'
  | 'Bool'
  | 'Datetime'
  | 'KeywordList';

const typeOf: Record<
  SearchAttributeTypeName,
  (typeof SearchAttributeType)[keyof typeof SearchAttributeType]
> = {
  Keyword: SearchAttributeType.KEYWORD,
  Text: SearchAttributeType.TEXT,
  Int: SearchAttributeType.INT,
  Double: SearchAttributeType.DOUBLE,
  Bool: SearchAttributeType.BOOL,
  Datetime: SearchAttributeType.DATETIME,
  KeywordList: SearchAttributeType.KEYWORD_LIST,
};

// IndexedValueType numbers for OperatorService.AddSearchAttributes.
const indexedValueType: Record<SearchAttributeTypeName, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};

export interface TestEnvOptions {
  /** Time-skipping test server (default false: real-time dev server). */
  timeSkipping?: boolean;
  /** Custom search attributes to register (default: none). */
  searchAttributes?: Record<string, SearchAttributeTypeName>;
  /** Dev server only: persist state in this file. */
  dbFilename?: string;
  /** Dev server only: more command-line flags, e.g. `--dynamic-config-value limit.blobSize.error=1024`. */
  extraArgs?: string[];
  /** Launcher to run instead of this package's (default TEMPORAL_DEV_PATH). */
  temporalDevPath?: string;
}

/** True when the suite runs against the official binaries instead of temporal-dev. */
export function usingOfficialServer(timeSkipping = false): boolean {
  return Boolean(timeSkipping ? process.env.TEMPORAL_TEST_SERVER_PATH : process.env.TEMPORAL_CLI_PATH);
}

/** Logger for bundleWorkflowCode: only errors are printed. */
export const quietBundlerLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error(message: string, meta?: unknown) {
    console.error(message, meta);
  },
};

let loggerInstalled = false;
/** Installs a quiet SDK runtime logger (WARN and above) once per process. */
export function installQuietLogger(): void {
  if (loggerInstalled) return;
  loggerInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // a Runtime already exists in this process; keep it
  }
}

export async function createTestEnv(opts: TestEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  installQuietLogger();
  const attrs = opts.searchAttributes ?? {};
  const ours = opts.temporalDevPath ?? TEMPORAL_DEV_PATH;
  if (opts.timeSkipping) {
    const path = process.env.TEMPORAL_TEST_SERVER_PATH || ours;
    const env = await retryStartOnce('time-skipping test server', () =>
      TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path } },
      }),
    );
    if (Object.keys(attrs).length > 0) {
      // The official test server accepts any search attribute and may not serve OperatorService.
      await addSearchAttributes(env, attrs).catch((err: { code?: number }) => {
        if (err?.code !== 12 /* UNIMPLEMENTED */) throw err;
      });
    }
    return env;
  }
  const path = process.env.TEMPORAL_CLI_PATH || ours;
  return retryStartOnce('dev server', () =>
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path },
        searchAttributes: Object.entries(attrs).map(([name, t]) => defineSearchAttributeKey(name, typeOf[t])),
        dbFilename: opts.dbFilename,
        extraArgs: opts.extraArgs,
      },
    }),
  );
}

/**
 * The SDK gives a server it spawns 5 s to answer (core's ephemeral_server: 50 connection attempts 100 ms
 * apart, fixed in its Rust code, no option lengthens it), then kills it. A loaded machine can make
 * temporal-dev miss that, so such a start is tried once more, saying so.
 */
export async function retryStartOnce<T>(what: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!/did not start within/.test(message)) throw err;
    console.warn(
      `Temporal ${what} missed the SDK's 5 s start limit (busy machine?); retrying once: ${message}`,
    );
    return start();
  }
}

/** Registers custom search attributes through OperatorService (works in both modes of temporal-dev). */
export async function addSearchAttributes(
  env: TestWorkflowEnvironment,
  attrs: Record<string, SearchAttributeTypeName>,
): Promise<void> {
  const searchAttributes: Record<string, number> = {};
  for (const [name, t] of Object.entries(attrs)) searchAttributes[name] = indexedValueType[t];
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes,
  });
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
