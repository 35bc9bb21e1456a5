// Workflow updates: admission, delivery as protocol messages on workflow tasks, and the
// accept / reject / complete messages the worker sends back.
import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { Engine } from './engine.ts';
import { invalidArgument, notFound, RpcError } from './errors.ts';
import { append, makeEvent } from './history.ts';
import { checkBlobSize, checkIdLength, limits } from './limits.ts';
import type { Obj, Run, UpdateState } from './model.ts';
import { EventType, ExecStatus, UpdateStage, unpackAny } from './proto.ts';

export function applyUpdateMessage(engine: Engine, run: Run, m: Obj, wtc: number): void {
  const typeName = String(m.body?.type_url ?? '')
    .split('/')
    .pop();
  const body = unpackAny(m.body);
  const u = run.updates.get(m.protocolInstanceId);
  if (!u) return;
  if (typeName === 'temporal.api.update.v1.Acceptance') {
    const e = append(
      run,
      makeEvent(engine.clock, EventType.WORKFLOW_EXECUTION_UPDATE_ACCEPTED, {
        protocolInstanceId: u.updateId,
        acceptedRequestMessageId: body.acceptedRequestMessageId,
        acceptedRequestSequencingEventId: body.acceptedRequestSequencingEventId,
        acceptedRequest: body.acceptedRequest ?? u.request,
      }),
    );
    u.stage = 'accepted';
    u.acceptedEventId = e.eventId;
  } else if (typeName === 'temporal.api.update.v1.Response') {
    append(
      run,
      makeEvent(engine.clock, EventType.WORKFLOW_EXECUTION_UPDATE_COMPLETED, {
        meta: body.meta ?? { updateId: u.updateId },
        acceptedEventId: u.acceptedEventId,
        outcome: body.outcome,
      }),
    );
    u.stage = 'completed';
    u.outcome = body.outcome;
  } else if (typeName === 'temporal.api.update.v1.Rejection') {
    u.stage = 'completed';
    u.outcome = { failure: body.failure };
    run.updates.delete(u.updateId); // a rejected update leaves no trace; its id may be reused
    rejected.set(`${run.runId}/${u.updateId}`, u);
    if (rejected.size > 10_000) rejected.delete(rejected.keys().next().value!);
  }
  void wtc;
}

// Rejections are remembered briefly so waiting callers (and a poll right after) see the outcome.
const rejected = new Map<string, UpdateState>();
// Updates the workflow never accepted, aborted when it closed: callers get the real server's NotFound.
const aborted = new Set<string>();

/** update.acceptedUpdateCompletedWorkflowFailure */
const ACCEPTED_UPDATE_COMPLETED_WORKFLOW = {
  message: 'Workflow Update failed because the Workflow completed before the Update completed.',
  source: 'Server',
  applicationFailureInfo: { type: 'AcceptedUpdateCompletedWorkflow', nonRetryable: true },
};

/**
 * The run closed: as the real server's registry aborts with AbortReasonWorkflowCompleted, an accepted
 * update completes with the AcceptedUpdateCompletedWorkflow failure, one not yet accepted is dropped and
 * its callers answered NotFound ("workflow update was aborted by closing workflow").
 */
export function abortUpdates(run: Run): void {
  for (const u of [...run.updates.values()]) {
    if (u.stage === 'accepted') {
      u.stage = 'completed';
      u.outcome = { failure: ACCEPTED_UPDATE_COMPLETED_WORKFLOW };
    } else if (u.stage === 'admitted') {
      run.updates.delete(u.updateId);
      aborted.add(`${run.runId}/${u.updateId}`);
      if (aborted.size > 10_000) aborted.delete(aborted.values().next().value!);
    }
  }
}

/** The real registry's admission limits (history.maxInFlightUpdates, history.maxTotalUpdates). */
function checkUpdateLimits(run: Run): void {
  let inFlight = 0;
  let completed = 0;
  for (const u of run.updates.values()) {
    if (u.stage === 'completed') completed++;
    else inFlight++;
  }
  if (limits.maxInFlightUpdates > 0 && inFlight >= limits.maxInFlightUpdates) {
    throw new RpcError(
      status.RESOURCE_EXHAUSTED,
      `limit on number of concurrent in-flight updates has been reached (${limits.maxInFlightUpdates})`,
      {
        typeName: 'temporal.api.errordetails.v1.ResourceExhaustedFailure',
        value: {
          cause: RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
          scope: RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
        },
      },
    );
  }
  if (limits.maxTotalUpdates > 0 && inFlight + completed >= limits.maxTotalUpdates) {
    throw new RpcError(
      status.FAILED_PRECONDITION,
      `limit on number of total updates has been reached (${limits.maxTotalUpdates})`,
    );
  }
}

const RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT = 2;
const RESOURCE_EXHAUSTED_SCOPE_NAMESPACE = 1;

/**
 * A start delay (first workflow task backoff) does not hold an update back: as on the real server, the
 * update dispatches the first workflow task and the rest of the delay is skipped.
 */
function startNow(engine: Engine, run: Run): void {
  if (!run.wft && run.firstWftAt > engine.clock.now()) run.firstWftAt = engine.clock.now();
}

function stageReached(u: UpdateState, wait: number): boolean {
  if (u.stage === 'completed') return true;
  if (u.stage === 'accepted') return wait !== UpdateStage.COMPLETED;
  return wait === UpdateStage.ADMITTED;
}

function stageNumber(u: UpdateState): number {
  if (u.stage === 'completed') return UpdateStage.COMPLETED;
  if (u.stage === 'accepted') return UpdateStage.ACCEPTED;
  return UpdateStage.ADMITTED;
}

function lookup(run: Run, updateId: string): UpdateState | undefined {
  return run.updates.get(updateId) ?? rejected.get(`${run.runId}/${updateId}`);
}

async function waitFor(
  engine: Engine,
  run: Run,
  updateId: string,
  wait: number,
  timeoutMs: number,
): Promise<Obj> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const u = lookup(run, updateId);
    if (!u && aborted.has(`${run.runId}/${updateId}`))
      throw notFound('workflow update was aborted by closing workflow');
    if (!u) throw notFound(`update ${updateId} not found`);
    if (stageReached(u, wait) || Date.now() >= deadline || engine.stopping) {
      return {
        updateRef: { workflowExecution: { workflowId: run.workflowId, runId: run.runId }, updateId },
        outcome: u.stage === 'completed' ? u.outcome : undefined,
        stage: stageNumber(u),
      };
    }
    await engine.waitChange(run, Math.max(1, deadline - Date.now()));
  }
}

/** UpdateWorkflowExecution: admits the update (deduplicated by id) and waits for the requested stage. */
export async function updateWorkflow(engine: Engine, req: Obj, timeoutMs: number): Promise<Obj> {
  const request = req.request ?? {};
  const updateId: string = request.meta?.updateId || randomUUID();
  if (!request.input?.name) throw invalidArgument('update name is required');
  checkIdLength(request.input.name, 'UpdateName');
  checkIdLength(updateId, 'UpdateId');
  checkBlobSize(request.input.args, 'UpdateWorkflowExecution', engine.log.warn);
  const run = engine.findRun(req.namespace, req.workflowExecution);
  if (req.firstExecutionRunId && run.firstRunId !== req.firstExecutionRunId) {
    throw notFound('workflow execution not found for the given firstExecutionRunId');
  }
  if (!lookup(run, updateId)) {
    if (run.status !== ExecStatus.RUNNING) throw notFound('workflow execution already completed');
    checkUpdateLimits(run);
    request.meta = { ...(request.meta ?? {}), updateId };
    run.updates.set(updateId, { updateId, request, stage: 'admitted', acceptedEventId: 0, delivered: false });
    startNow(engine, run);
    engine.requestWft(run);
    engine.touch(run);
  }
  const wait = req.waitPolicy?.lifecycleStage || UpdateStage.ACCEPTED;
  return waitFor(engine, run, updateId, wait, timeoutMs);
}

export async function pollUpdate(engine: Engine, req: Obj, timeoutMs: number): Promise<Obj> {
  const ref = req.updateRef ?? {};
  const run = engine.findRun(req.namespace, ref.workflowExecution);
  const wait = req.waitPolicy?.lifecycleStage || UpdateStage.COMPLETED;
  return waitFor(engine, run, ref.updateId, wait, timeoutMs);
}
