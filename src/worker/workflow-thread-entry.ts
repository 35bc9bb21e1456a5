// A workflow thread's entry (src/worker/workflow-watchdog.ts starts the SDK's threads here): the hook first,
// then the SDK's own thread module, named in workerData.
import { createRequire } from 'node:module';
import { workerData } from 'node:worker_threads';
import './workflow-thread-hook.ts';
import { SDK_ENTRY } from './workflow-watchdog-cell.ts';

createRequire(import.meta.url)((workerData as Record<string, string>)[SDK_ENTRY] as string);
