// What a workflow thread shares with the main thread's watchdog: a cell (Int32Array over a SharedArrayBuffer)
// in which BUSY is how deep the thread is in workflow code (0 = out) and ENTRIES counts its outermost entries,
// so an unchanged count while busy means the same call is still running.
export const WATCHDOG_CELL = 'disburseWorkflowWatchdog';
/** workerData key of the SDK's thread module, which src/worker/workflow-thread-entry.ts loads. */
export const SDK_ENTRY = 'disburseWorkflowThreadModule';
export const BUSY = 0;
export const ENTRIES = 1;
export const CELL_BYTES = 2 * Int32Array.BYTES_PER_ELEMENT;
