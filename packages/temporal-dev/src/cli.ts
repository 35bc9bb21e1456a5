// bin/temporal-dev: reads its command line (args.ts), then runs the dev server or the time-skipping test
// server until SIGTERM/SIGINT. --help and a bad command line are answered before the server is loaded.
import { flushCompileCache } from 'node:module';
import { levels, parseArgs, usage } from './args.ts';
import type { Logger } from './engine.ts';

function makeLogger(level: string): Logger {
  const min = levels.indexOf(level);
  const at = (l: string) => (msg: string) => {
    if (levels.indexOf(l) >= min)
      process.stderr.write(`${new Date().toISOString()} ${l.toUpperCase()} ${msg}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function main(): Promise<void> {
  const line = parseArgs(process.argv.slice(2));
  const usageError = (message: string): never => {
    process.stderr.write(`temporal-dev: ${message}\n\n${usage}\n`);
    process.exit(2);
  };
  if (line.kind === 'admin') {
    const { runAdmin } = await import('./admin-cli.ts');
    process.exit(await runAdmin(line.group, line.argv));
  }
  if (line.kind === 'help') {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  if (line.kind === 'error') return usageError(line.message);
  // Loaded only now: these need the proto definitions, which --help and a bad command line do not.
  const { parseSearchAttributeFlag } = await import('./search-attributes.ts');
  const { startDevServer } = await import('./server.ts');
  let searchAttributes: Array<[string, number]> = [];
  try {
    searchAttributes = line.options.searchAttributes.map(parseSearchAttributeFlag);
  } catch (error) {
    usageError((error as Error).message);
  }
  const { applyDynamicConfig } = await import('./limits.ts');
  try {
    applyDynamicConfig(line.options.dynamicConfig);
  } catch (error) {
    usageError((error as Error).message);
  }
  const opts = { ...line.options, searchAttributes };
  const log = makeLogger(opts.logLevel);
  // With --db-filename the state is committed as it changes (sqlite-store.ts), so a kill loses nothing.
  const server = await startDevServer({ ...opts, log });
  const memoryReport = process.env.TEMPORAL_DEV_MEMORY_REPORT;
  if (memoryReport) {
    const { installMemoryReport } = await import('./memory-report.ts');
    installMemoryReport(memoryReport, () => server.engine.store.bytes());
  }
  log.info(
    `temporal-dev ${opts.timeSkipping ? 'time-skipping test server' : 'dev server'} listening on ${opts.ip}:${server.port}${
      server.httpPort !== undefined ? `, HTTP API on http://${opts.ip}:${server.httpPort}` : ''
    }`,
  );
  // The SDK stops its servers with SIGKILL, which would lose what Node compiled on this first start.
  flushCompileCache();
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
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
