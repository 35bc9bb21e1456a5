// One durable workflow per bulk payout request (id `bulk-<bulkId>`): the API commits the request's snapshot
// (who is paid what) and starts this workflow, which starts the payouts in waves while fewer than a window
// are in flight, then records how they stand and announces it (`payout.bulk_completed`). Once the request
// is acknowledged the bulk finishes whatever happens to the API process. A cancel (update) stops further
// starts and cancels the started payouts not yet submitted; the others run to their end.
import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  type BulkActivities,
  type BulkInput,
  type BulkProgress,
  type BulkSummary,
  bulkCompletedEventId,
  bulkProgressQuery,
  cancelBulkUpdate,
} from './bulk-contract.ts';

// A wave starts up to a window of payouts and heartbeats between chunks: a worker that dies mid-wave is
// noticed quickly, and the repeated wave restarts nothing (starts are idempotent by payout id).
const waves = proxyActivities<Pick<BulkActivities, 'startBulkWave' | 'cancelBulkPayouts'>>({
  startToCloseTimeout: '15m',
  heartbeatTimeout: '60s',
  retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2 },
});

const acts = proxyActivities<Pick<BulkActivities, 'completeBulk'>>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumInterval: '1m', backoffCoefficient: 2 },
});

const webhooks = proxyActivities<Pick<BulkActivities, 'deliverBulkWebhook'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '30m', maximumAttempts: 25 },
});

/** Continue-as-new well before Temporal's limits: a long wait for in-flight payouts is ~9 events per poll. */
const HISTORY_LIMIT = 4_000;

export async function bulkPayoutWorkflow(input: BulkInput): Promise<BulkSummary> {
  const { bulkId } = input;
  const p: BulkProgress = input.carried ?? {
    bulkId,
    stage: 'running',
    waves: 0,
    started: 0,
    inFlight: 0,
    waiting: -1,
    total: -1,
    continuedAsNew: 0,
  };
  setHandler(bulkProgressQuery, () => p);
  let finishing = false;
  setHandler(
    cancelBulkUpdate,
    ({ by, reason }) => {
      p.cancellation = { by, reason, at: new Date().toISOString() };
      return p;
    },
    {
      validator: ({ by, reason }) => {
        if (by.role !== 'operator' && by.role !== 'platform')
          throw new Error(`role ${by.role} cannot cancel bulk ${bulkId}`);
        if (!reason.trim()) throw new Error('a cancel needs a reason');
        if (p.cancellation)
          throw new Error(`bulk ${bulkId} was already cancelled by ${p.cancellation.by.actor}`);
        if (finishing)
          throw new Error(
            `bulk ${bulkId} has no payout left to start or in flight; cancel its payouts one by one`,
          );
      },
    },
  );
  // Cancelled and not yet carried out: the loop does it before anything else.
  const cancelPending = () => p.cancellation !== undefined && p.cancellation.dropped === undefined;

  for (;;) {
    if (cancelPending()) {
      const done = await waves.cancelBulkPayouts({ bulkId, ...p.cancellation! });
      p.cancellation = { ...p.cancellation!, ...done };
    }
    const wave = await waves.startBulkWave({ bulkId, window: input.window });
    p.waves += 1;
    p.started += wave.started;
    p.inFlight = wave.inFlight;
    p.waiting = wave.waiting;
    p.total = wave.total;
    if (wave.waiting === 0 && wave.inFlight === 0 && !cancelPending()) break;
    if (wave.started === 0) await condition(cancelPending, input.pollMs);
    const info = workflowInfo();
    if (info.historyLength > HISTORY_LIMIT || info.continueAsNewSuggested) {
      await continueAsNew<typeof bulkPayoutWorkflow>({
        ...input,
        carried: { ...p, continuedAsNew: p.continuedAsNew + 1 },
      });
    }
  }
  finishing = true;
  p.summary = await acts.completeBulk({
    bulkId,
    ...(p.cancellation ? { cancellation: p.cancellation } : {}),
  });
  p.stage = 'completed';
  await webhooks.deliverBulkWebhook({ eventId: bulkCompletedEventId(bulkId) });
  return p.summary;
}
