// Temporal's protobuf definitions (shipped by @temporalio/proto) and encode/decode helpers.
import type { temporal } from '@temporalio/proto';
import type * as protobuf from 'protobufjs';
import type { Obj } from './model.ts';
import { fullRoot, loadRoot } from './proto-subset.ts';

/** What the served services reach (see proto-subset.ts); messageType falls back to every definition. */
export const root = loadRoot();

const typeCache = new Map<string, protobuf.Type>();
export function messageType(fullName: string): protobuf.Type {
  let t = typeCache.get(fullName);
  if (!t) {
    try {
      t = root.lookupType(fullName);
    } catch {
      t = fullRoot().lookupType(fullName); // throws naming the type when no definition has it
    }
    typeCache.set(fullName, t);
  }
  return t;
}

export function serviceDef(fullName: string): protobuf.Service {
  return root.lookupService(fullName);
}

/** Request and response types of an RPC: from the subset, or all definitions for an RPC it left out. */
export function methodTypes(service: string, method: string): [protobuf.Type, protobuf.Type] {
  let m = root.lookupService(service).methods[method]!;
  try {
    m.resolve();
  } catch {
    m = fullRoot().lookupService(service).methods[method]!;
    m.resolve();
  }
  return [m.resolvedRequestType!, m.resolvedResponseType!];
}

/** Decodes to a plain object: int64 as number, enums as numbers, bytes as Buffer. */
export function decode(type: protobuf.Type, buf: Uint8Array): Obj {
  return type.toObject(type.decode(buf), {
    longs: Number,
    enums: Number,
    bytes: Buffer as unknown as StringConstructor,
  });
}

/** Encodes a plain object (enums as numbers, int64 as number, nested plain objects). */
export function encode(type: protobuf.Type, obj: unknown): Buffer {
  return Buffer.from(type.encode(obj as Record<string, unknown>).finish());
}

type Strip<K, P extends string> = K extends `${P}${infer R}` ? R : never;
type Enum<E, P extends string> = Readonly<Record<Strip<keyof E, P>, number>>;

function enumValues<R>(fullName: string, prefix: string): R {
  const e = root.lookupEnum(fullName);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(e.values)) out[k.startsWith(prefix) ? k.slice(prefix.length) : k] = v;
  return out as R;
}

export const EventType = enumValues<Enum<typeof temporal.api.enums.v1.EventType, 'EVENT_TYPE_'>>(
  'temporal.api.enums.v1.EventType',
  'EVENT_TYPE_',
);
export const CommandType = enumValues<Enum<typeof temporal.api.enums.v1.CommandType, 'COMMAND_TYPE_'>>(
  'temporal.api.enums.v1.CommandType',
  'COMMAND_TYPE_',
);
export const ExecStatus = enumValues<
  Enum<typeof temporal.api.enums.v1.WorkflowExecutionStatus, 'WORKFLOW_EXECUTION_STATUS_'>
>('temporal.api.enums.v1.WorkflowExecutionStatus', 'WORKFLOW_EXECUTION_STATUS_');
export const ExecStatusName: Record<number, string> = Object.fromEntries(
  Object.entries(ExecStatus).map(([k, v]) => [v, k]),
);
export const TimeoutType = enumValues<Enum<typeof temporal.api.enums.v1.TimeoutType, 'TIMEOUT_TYPE_'>>(
  'temporal.api.enums.v1.TimeoutType',
  'TIMEOUT_TYPE_',
);
export const RetryState = enumValues<Enum<typeof temporal.api.enums.v1.RetryState, 'RETRY_STATE_'>>(
  'temporal.api.enums.v1.RetryState',
  'RETRY_STATE_',
);
export const IdReusePolicy = enumValues<
  Enum<typeof temporal.api.enums.v1.WorkflowIdReusePolicy, 'WORKFLOW_ID_REUSE_POLICY_'>
>('temporal.api.enums.v1.WorkflowIdReusePolicy', 'WORKFLOW_ID_REUSE_POLICY_');
export const IdConflictPolicy = enumValues<
  Enum<typeof temporal.api.enums.v1.WorkflowIdConflictPolicy, 'WORKFLOW_ID_CONFLICT_POLICY_'>
>('temporal.api.enums.v1.WorkflowIdConflictPolicy', 'WORKFLOW_ID_CONFLICT_POLICY_');
export const ParentClosePolicy = enumValues<
  Enum<typeof temporal.api.enums.v1.ParentClosePolicy, 'PARENT_CLOSE_POLICY_'>
>('temporal.api.enums.v1.ParentClosePolicy', 'PARENT_CLOSE_POLICY_');
export const IndexedValueType = enumValues<
  Enum<typeof temporal.api.enums.v1.IndexedValueType, 'INDEXED_VALUE_TYPE_'>
>('temporal.api.enums.v1.IndexedValueType', 'INDEXED_VALUE_TYPE_');
export const IndexedValueTypeName: Record<number, string> = Object.fromEntries(
  Object.entries(IndexedValueType).map(([k, v]) => [v, k]),
);
export const TaskQueueKind = enumValues<Enum<typeof temporal.api.enums.v1.TaskQueueKind, 'TASK_QUEUE_KIND_'>>(
  'temporal.api.enums.v1.TaskQueueKind',
  'TASK_QUEUE_KIND_',
);
export const UpdateStage = enumValues<
  Enum<
    typeof temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage,
    'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_'
  >
>(
  'temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage',
  'UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_',
);

/** Wraps a message as google.protobuf.Any. */
export function packAny(typeName: string, obj: unknown): { type_url: string; value: Buffer } {
  return { type_url: `type.googleapis.com/${typeName}`, value: encode(messageType(typeName), obj) };
}

export function unpackAny(any: { type_url?: string; value?: Uint8Array } | undefined): Obj {
  if (!any?.type_url) return {};
  const name = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
  return decode(messageType(name), any.value ?? new Uint8Array());
}
