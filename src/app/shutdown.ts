// Orderly stop of a Disburse process on SIGTERM / SIGINT / SIGHUP, or when the npm that started it dies.
import type { Logger } from '../observability/log.ts';

export interface ShutdownStep {
  /** Shown in the log, e.g. 'http', 'worker', 'temporal', 'database'. */
  name: string;
  run(): Promise<unknown>;
}

export interface ShutdownOptions {
  log: Logger;
  /** Give up on the steps after this long and exit 1 (default 9 s: process managers wait 10 s). */
  deadlineMs?: number;
  /** A repeat of the signal sooner than this is the same request, not a second one (default 1 s). */
  repeatWindowMs?: number;
}

const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Runs the steps in order once, on the first signal, then exits 0 (1 if a step failed; the later steps
 * still run so temporal-dev and the database are closed). A second signal exits at once: the exit hooks
 * of src/temporal/embedded-server.ts and src/db/data-dir-lock.ts still stop temporal-dev and free the
 * data directory.
 *
 * npm 11 runs a script as `sh -c '<script>'` and forwards SIGTERM/SIGINT to that shell, which dies without
 * passing them on (dash does not exec the command), so `kill <npm>` used to leave the app serving. The
 * start scripts therefore `exec` node; and, in case npm itself is killed outright, a process started by
 * npm stops when its parent changes. On Ctrl-C the terminal signals npm and node alike and npm forwards
 * its copy: the repeat within `repeatWindowMs` is that copy, not a user's second Ctrl-C.
 */
export function onShutdown(steps: ShutdownStep[], options: ShutdownOptions): void {
  const { log } = options;
  const deadlineMs = options.deadlineMs ?? 9_000;
  const repeatWindowMs = options.repeatWindowMs ?? 1_000;
  let startedAt = 0;

  const begin = (reason: string): void => {
    if (startedAt) return;
    startedAt = Date.now();
    log.info('shutdown.started', { reason });
    let current = '';
    const watchdog = setTimeout(() => {
      log.error('shutdown.deadline', { ms: deadlineMs, step: current, detail: 'exiting without it' });
      process.exit(1);
    }, deadlineMs);
    watchdog.unref();
    void (async () => {
      let failed = false;
      for (const step of steps) {
        current = step.name;
        const t0 = Date.now();
        try {
          await step.run();
          log.debug('shutdown.step', { step: step.name, ms: Date.now() - t0 });
        } catch (error) {
          failed = true;
          log.error('shutdown.step_failed', { step: step.name, error: String(error) });
        }
      }
      log.info('shutdown.done', { ms: Date.now() - startedAt, ok: !failed });
      process.exit(failed ? 1 : 0);
    })();
  };

  for (const signal of signals) {
    process.on(signal, () => {
      if (!startedAt) return begin(signal);
      if (Date.now() - startedAt < repeatWindowMs) return;
      log.warn('shutdown.forced', { signal, detail: 'second signal: exiting now' });
      process.exit(1);
    });
  }

  // Started by npm (`npm start`, `npm run api|worker`): stop with it rather than serve on as an orphan.
  if (process.env.npm_lifecycle_event) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) begin(`parent process ${parent} exited`);
    }, 500).unref();
  }
}
