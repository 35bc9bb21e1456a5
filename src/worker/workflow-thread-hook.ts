// Loaded first in each of the SDK's workflow threads (src/worker/workflow-thread-entry.ts). The SDK enters
// the workflow sandbox through vm with `timeout` on every call, and Node enforces that timeout with a thread
// it creates and joins per call: ~190 µs of CPU each, over 20 calls per payout.
// Here those calls run without it; each instead marks a cell shared with the main thread, whose watchdog
// stops a thread that stays in one call too long.
import vm from 'node:vm';
import { workerData } from 'node:worker_threads';
import { BUSY, ENTRIES, WATCHDOG_CELL } from './workflow-watchdog-cell.ts';

const shared = (workerData as Record<string, unknown> | null)?.[WATCHDOG_CELL];
if (shared instanceof SharedArrayBuffer) {
  const cell = new Int32Array(shared);
  const guarded = <T>(run: () => T): T => {
    if (Atomics.add(cell, BUSY, 1) === 0) Atomics.add(cell, ENTRIES, 1);
    try {
      return run();
    } finally {
      Atomics.sub(cell, BUSY, 1);
    }
  };
  const withoutTimeout = (options: unknown) => {
    if (typeof options !== 'object' || options === null || !('timeout' in options)) return undefined;
    const { timeout: _enforcedByTheWatchdog, ...rest } = options as vm.RunningScriptOptions;
    return rest;
  };

  const runScript = vm.Script.prototype.runInContext;
  vm.Script.prototype.runInContext = function runInContext(this: vm.Script, context, options) {
    const rest = withoutTimeout(options);
    if (!rest) return runScript.call(this, context, options);
    return guarded(() => runScript.call(this, context, rest));
  };
  const runCode = vm.runInContext;
  vm.runInContext = function runInContext(code, context, options) {
    const rest = withoutTimeout(options);
    if (!rest) return runCode.call(vm, code, context, options);
    return guarded(() => runCode.call(vm, code, context, rest));
  };
}
