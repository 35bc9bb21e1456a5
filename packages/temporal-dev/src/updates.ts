// Workflow updates: admission, delivery as protocol messages on workflow tasks, and the
// accept / reject / complete messages the worker sends back.
import { randomUUID } from 'node:crypto';
import type { Engine } from './engine.ts';
import { invalidArgument, notFound } from './errors.ts';
import { append, makeEvent } from './history.ts';
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
  const run = engine.findRun(req.namespace, req.workflowExecution);
  if (req.firstExecutionRunId && run.firstRunId !== req.firstExecutionRunId) {
    throw notFound('workflow execution not found for the given firstExecutionRunId');
  }
  if (!lookup(run, updateId)) {
    if (run.status !== ExecStatus.RUNNING) throw notFound('workflow execution already completed');
    request.meta = { ...(request.meta ?? {}), updateId };
    run.updates.set(updateId, { updateId, request, stage: 'admitted', acceptedEventId: 0, delivered: false });
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
