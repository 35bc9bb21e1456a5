// bench:payouts' engine baseline: a worker with the Disburse worker's tuning (src/worker/tuning.ts, the
// same WORKER_* environment) running only bench/workflows/engine.ts' one-activity and payout-shaped
// workflows, so paid/s can be divided by the bare engine's workflows/s measured in the same run; its
// workflow threads are watched as the Disburse worker's are (src/worker/workflow-watchdog.ts). Prints
// `bare-worker.ready` when polling; stops on SIGTERM.
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { workerTuning } from '../src/worker/tuning.ts';
import { watchWorkflowThreads } from '../src/worker/workflow-watchdog.ts';
import type { EngineBenchActivities } from './workflows/engine.ts';

export async function createBareWorker(connection: NativeConnection, taskQueue: string): Promise<Worker> {
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./workflows/engine.ts', import.meta.url)),
    logger: new DefaultLogger('WARN'),
  });
  const activities: EngineBenchActivities = { echo: async (input) => input };
  watchWorkflowThreads({ log: Runtime.instance().logger });
  return Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowBundle,
    activities,
    ...workerTuning(),
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [address, taskQueue] = process.argv.slice(2);
  if (!address || !taskQueue)
    throw new Error('usage: node bench/bare-worker.ts <temporal address> <task queue>');
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const connection = await NativeConnection.connect({ address });
  const worker = await createBareWorker(connection, taskQueue);
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  console.log('bare-worker.ready');
  await running;
  await connection.close();
}
