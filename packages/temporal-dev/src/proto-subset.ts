// Temporal's protobuf definitions without reflecting all of them at every start.
// @temporalio/proto ships one 1.4 MB module that builds protobufjs reflection for every type the SDKs know
// (core SDK, cloud API…: ~1,060 types, the largest part of temporal-dev's boot, and protobufjs resolves
// all of a root's features at its first encode). The RPCs served here reach ~330 of them. The first start
// writes that closure as JSON in the cache directory, keyed by the installed package and the RPC list,
// and every start builds its root from that file. A type outside it (an Any naming some other message,
// an RPC given a handler but not listed in SERVED) is found in the full definitions, loaded then.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type * as protobuf from 'protobufjs';
import { cacheDir } from './cache-dir.ts';

/**
 * The RPCs with a handler, per service (test/proto-subset.test.ts keeps this equal to the
 * handler modules). The services keep every method, so others answer UNIMPLEMENTED by name, but their
 * request and response types are left out: those RPCs never decode anything.
 */
export const SERVED: Readonly<Record<string, readonly string[]>> = {
  'temporal.api.workflowservice.v1.WorkflowService': [
    'GetSystemInfo',
    'GetClusterInfo',
    'DescribeNamespace',
    'ListNamespaces',
    'RegisterNamespace',
    'UpdateNamespace',
    // batch operations (batch-service.ts)
    'StartBatchOperation',
    'StopBatchOperation',
    'DescribeBatchOperation',
    'ListBatchOperations',
    // Temporal UI's activity actions (activity-actions.ts)
    'PauseActivity',
    'UnpauseActivity',
    'ResetActivity',
    'UpdateActivityOptions',
    'StartWorkflowExecution',
    'SignalWithStartWorkflowExecution',
    'SignalWorkflowExecution',
    'RequestCancelWorkflowExecution',
    'TerminateWorkflowExecution',
    'ResetWorkflowExecution',
    'DeleteWorkflowExecution',
    'DescribeWorkflowExecution',
    'GetWorkflowExecutionHistory',
    'GetWorkflowExecutionHistoryReverse',
    'PollWorkflowTaskQueue',
    'RespondWorkflowTaskCompleted',
    'RespondWorkflowTaskFailed',
    'RespondQueryTaskCompleted',
    'QueryWorkflow',
    'PollActivityTaskQueue',
    'RespondActivityTaskCompleted',
    'RespondActivityTaskCompletedById',
    'RespondActivityTaskFailed',
    'RespondActivityTaskFailedById',
    'RespondActivityTaskCanceled',
    'RespondActivityTaskCanceledById',
    'RecordActivityTaskHeartbeat',
    'RecordActivityTaskHeartbeatById',
    'UpdateWorkflowExecution',
    'PollWorkflowExecutionUpdate',
    'ExecuteMultiOperation',
    'ResetStickyTaskQueue',
    'ShutdownWorker',
    'RecordWorkerHeartbeat',
    'DescribeTaskQueue',
    'ListWorkflowExecutions',
    'ListOpenWorkflowExecutions',
    'ListClosedWorkflowExecutions',
    'ScanWorkflowExecutions',
    'CountWorkflowExecutions',
    'GetSearchAttributes',
    // schedules (schedule-service.ts)
    'CreateSchedule',
    'DescribeSchedule',
    'UpdateSchedule',
    'PatchSchedule',
    'DeleteSchedule',
    'ListSchedules',
    'CountSchedules',
    'ListScheduleMatchingTimes',
  ],
  'temporal.api.operatorservice.v1.OperatorService': [
    'AddSearchAttributes',
    'RemoveSearchAttributes',
    'ListSearchAttributes',
    'ListNexusEndpoints',
  ],
  'temporal.api.testservice.v1.TestService': [
    'LockTimeSkipping',
    'UnlockTimeSkipping',
    'Sleep',
    'SleepUntil',
    'UnlockTimeSkippingWithSleep',
    'GetCurrentTime',
  ],
};
export const SERVICES = Object.keys(SERVED);
/** Looked up by name rather than reached from an RPC: enum constants, Any bodies built here. */
const ALSO = [
  'temporal.api.enums.v1',
  'temporal.api.update.v1.Request',
  // error details in grpc-status-details-bin (errors.ts)
  'google.rpc.Status',
  'temporal.api.errordetails.v1',
];
/** Bump when the subset's shape changes, so older cache files are not read. */
const FORMAT = 2;

const require = createRequire(import.meta.url);
const modulePath = require.resolve('@temporalio/proto/protos/json-module.js');
// The protobufjs copy @temporalio/proto itself resolves (it nests its own): reflection classes must match.
const pb = createRequire(modulePath)('protobufjs/light') as typeof protobuf;

let full: protobuf.Root | undefined;
/** Every definition @temporalio/proto ships (slow: only on a cache miss or a type outside the subset). */
export function fullRoot(): protobuf.Root {
  full ??= require(modulePath) as protobuf.Root;
  return full;
}

/** The subset's file for the installed @temporalio/proto. */
export function subsetFile(): string {
  const { version } = require('@temporalio/proto/package.json') as { version: string };
  const served = createHash('sha256')
    .update(JSON.stringify([SERVED, ALSO]))
    .digest('hex')
    .slice(0, 8);
  return join(cacheDir(), `temporal-proto-${version}-${statSync(modulePath).size}-${served}-f${FORMAT}.json`);
}

/** The root temporal-dev serves from: the cached subset, written first if missing or unreadable. */
export function loadRoot(file = subsetFile()): protobuf.Root {
  try {
    return build(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    const json = subsetJSON(fullRoot());
    save(file, JSON.stringify(json));
    return build(json);
  }
}

// addJSON rather than Root.fromJSON, which resolves every field of every type up front (twice the time):
// as in @temporalio/proto's own module, a type resolves when first used.
function build(json: protobuf.INamespace): protobuf.Root {
  const root = new pb.Root();
  if (json.options) root.setOptions(json.options);
  root.addJSON(json.nested ?? {});
  return root;
}

/**
 * Written to a temporary name and renamed, so a concurrent start never reads half a file; subsets for
 * other package versions or RPC lists are removed (they are never read again).
 */
function save(file: string, text: string): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    for (const old of readdirSync(dir))
      if (/^temporal-proto-.*\.json$/.test(old) && old !== basename(file))
        rmSync(join(dir, old), { force: true });
  } catch {
    // A read-only checkout: every start builds the subset again, which still works.
  }
}

/** The closure of the SERVED RPCs and ALSO over field and method types, as protobufjs JSON. */
export function subsetJSON(root: protobuf.Root): protobuf.INamespace {
  const visited = new Set<protobuf.ReflectionObject>();
  const keep = new Set<protobuf.ReflectionObject>(); // visited ones and their enclosing namespaces
  const visit = (obj: protobuf.ReflectionObject | null): void => {
    if (!obj || visited.has(obj)) return;
    visited.add(obj);
    for (let p: protobuf.ReflectionObject | null = obj; p; p = p.parent) keep.add(p);
    if (obj instanceof pb.Type) {
      for (const field of obj.fieldsArray) visit(field.resolve().resolvedType);
      for (const nested of obj.nestedArray) visit(nested);
    } else if (obj instanceof pb.Service) {
      const served = SERVED[obj.fullName.slice(1)] ?? [];
      for (const method of obj.methodsArray) {
        if (!served.includes(method.name)) continue;
        method.resolve();
        visit(method.resolvedRequestType);
        visit(method.resolvedResponseType);
      }
    } else if (obj instanceof pb.Namespace) {
      for (const nested of obj.nestedArray) visit(nested); // only for a namespace named in ALSO
    }
  };
  for (const name of [...SERVICES, ...ALSO]) visit(root.lookup(name));
  const write = (ns: protobuf.ReflectionObject): protobuf.AnyNestedObject => {
    // A kept type, enum or service is written whole (a type's nested types were all visited).
    if (!(ns instanceof pb.Namespace) || ns instanceof pb.Type || ns instanceof pb.Service)
      return ns.toJSON() as protobuf.AnyNestedObject;
    const nested: Record<string, protobuf.AnyNestedObject> = {};
    for (const child of ns.nestedArray) if (keep.has(child)) nested[child.name] = write(child);
    return { ...(ns.options ? { options: ns.options } : {}), nested };
  };
  return write(root) as protobuf.INamespace;
}
