// A payout's workflow history for people: each event's id, time, type and a short detail naming what it
// was about (activity, local activity, timer duration, signal or update, failure message). Read through the
// Temporal client, so it is the same on bin/temporal-dev and a real cluster. Payload contents (inputs,
// results, search attribute values) are never shown: only names the SDK records beside them.
import { status as grpcStatus } from '@grpc/grpc-js';
import { type Client, isGrpcServiceError } from '@temporalio/client';
import proto from '@temporalio/proto';
import { payoutWorkflowId } from '../../workflows/payout-contract.ts';

type IHistory = proto.temporal.api.history.v1.IHistory;
type IHistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
type IFailure = proto.temporal.api.failure.v1.IFailure;
type IPayload = proto.temporal.api.common.v1.IPayload;
type Int64 = number | { toNumber(): number } | null | undefined;

const EventType = proto.temporal.api.enums.v1.EventType;

export interface HistoryEventSummary {
  eventId: number;
  /** ISO 8601 UTC. */
  time: string;
  /** The event type without its prefix, e.g. `ActivityTaskScheduled`, `MarkerRecorded`. */
  type: string;
  /** What the event was about; empty when the type says it all (workflow tasks). */
  detail: string;
}

const int = (v: Int64): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

function isoTime(ts: proto.google.protobuf.ITimestamp | null | undefined): string {
  return new Date(int(ts?.seconds) * 1000 + Math.floor((ts?.nanos ?? 0) / 1e6)).toISOString();
}

/** `EVENT_TYPE_ACTIVITY_TASK_SCHEDULED` (or its enum number) → `ActivityTaskScheduled`. */
export function eventTypeName(type: IHistoryEvent['eventType']): string {
  const name = typeof type === 'number' ? EventType[type] : String(type ?? 'EVENT_TYPE_UNSPECIFIED');
  return (name ?? `EVENT_TYPE_${type}`)
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase());
}

/** 90 000 ms → `1m 30s`; 0 → `0s`. */
export function formatDuration(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ];
  const parts: string[] = [];
  let left = Math.round(ms);
  for (const [unit, size] of units) {
    if (left >= size) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
  }
  return parts.length ? parts.join(' ') : '0s';
}

const durationMs = (d: proto.google.protobuf.IDuration | null | undefined) =>
  int(d?.seconds) * 1000 + Math.floor((d?.nanos ?? 0) / 1e6);

/** `Type: message` of a failure (its application type when it has one). */
function failureText(f: IFailure | null | undefined): string {
  if (!f) return '';
  const type = f.applicationFailureInfo?.type;
  const message = f.message ?? '';
  return type && !message.startsWith(type) ? `${type}: ${message}` : message;
}

const joined = (...parts: (string | undefined | null | false)[]) => parts.filter(Boolean).join(' — ');

/**
 * One field of the SDK's own marker metadata (the local activity's type, the patch id). Only these names
 * are read; the marker's result payload is never opened.
 */
function markerField(payload: IPayload | undefined | null, field: string): string | undefined {
  if (!payload?.data) return undefined;
  const encoding = payload.metadata?.encoding ? Buffer.from(payload.metadata.encoding).toString() : '';
  if (encoding !== 'json/plain') return undefined;
  try {
    const value = (JSON.parse(Buffer.from(payload.data).toString('utf8')) as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function markerDetail(e: IHistoryEvent): string {
  const a = e.markerRecordedEventAttributes!;
  const details = a.details ?? {};
  if (a.markerName === 'core_local_activity') {
    const type = markerField(details.data?.payloads?.[0], 'activity_type') ?? 'local activity';
    return joined(type, a.failure && `failed: ${failureText(a.failure)}`);
  }
  if (a.markerName === 'core_patch') {
    const id = markerField(details['patch-data']?.payloads?.[0], 'id');
    return id ? `patch ${id}` : 'patch';
  }
  return a.markerName ?? '';
}

/** A detail for one event; `names` maps earlier scheduling events to what they scheduled. */
function detailOf(e: IHistoryEvent, names: Map<number, string>): string {
  const ref = (id: Int64) => names.get(int(id)) ?? '';
  switch (eventTypeName(e.eventType)) {
    case 'WorkflowExecutionStarted':
      return e.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
    case 'WorkflowExecutionFailed':
      return failureText(e.workflowExecutionFailedEventAttributes?.failure);
    case 'WorkflowExecutionTerminated':
      return e.workflowExecutionTerminatedEventAttributes?.reason ?? '';
    case 'WorkflowExecutionCancelRequested':
      return e.workflowExecutionCancelRequestedEventAttributes?.cause ?? '';
    case 'WorkflowTaskFailed': {
      const a = e.workflowTaskFailedEventAttributes;
      const cause = a?.cause ? proto.temporal.api.enums.v1.WorkflowTaskFailedCause[a.cause] : undefined;
      return joined(cause, failureText(a?.failure));
    }
    case 'ActivityTaskScheduled':
      return e.activityTaskScheduledEventAttributes?.activityType?.name ?? '';
    case 'ActivityTaskStarted': {
      const a = e.activityTaskStartedEventAttributes;
      return joined(ref(a?.scheduledEventId), (a?.attempt ?? 1) > 1 && `attempt ${a?.attempt}`);
    }
    case 'ActivityTaskCompleted':
      return ref(e.activityTaskCompletedEventAttributes?.scheduledEventId);
    case 'ActivityTaskFailed': {
      const a = e.activityTaskFailedEventAttributes;
      return joined(ref(a?.scheduledEventId), failureText(a?.failure));
    }
    case 'ActivityTaskTimedOut': {
      const a = e.activityTaskTimedOutEventAttributes;
      return joined(ref(a?.scheduledEventId), failureText(a?.failure));
    }
    case 'ActivityTaskCancelRequested':
      return ref(e.activityTaskCancelRequestedEventAttributes?.scheduledEventId);
    case 'ActivityTaskCanceled':
      return ref(e.activityTaskCanceledEventAttributes?.scheduledEventId);
    case 'TimerStarted':
      return `timer ${formatDuration(durationMs(e.timerStartedEventAttributes?.startToFireTimeout))}`;
    case 'TimerFired':
      return ref(e.timerFiredEventAttributes?.startedEventId);
    case 'TimerCanceled':
      return ref(e.timerCanceledEventAttributes?.startedEventId);
    case 'MarkerRecorded':
      return markerDetail(e);
    case 'WorkflowExecutionSignaled':
      return e.workflowExecutionSignaledEventAttributes?.signalName ?? '';
    case 'WorkflowExecutionUpdateAdmitted':
      return e.workflowExecutionUpdateAdmittedEventAttributes?.request?.input?.name ?? '';
    case 'WorkflowExecutionUpdateAccepted':
      return e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ?? '';
    case 'WorkflowExecutionUpdateCompleted': {
      const a = e.workflowExecutionUpdateCompletedEventAttributes;
      return joined(ref(a?.acceptedEventId), a?.outcome?.failure && failureText(a.outcome.failure));
    }
    case 'UpsertWorkflowSearchAttributes':
      return Object.keys(
        e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {},
      )
        .sort()
        .join(', ');
    case 'StartChildWorkflowExecutionInitiated':
      return e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name ?? '';
    case 'SignalExternalWorkflowExecutionInitiated':
      return e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName ?? '';
    default:
      return '';
  }
}

/** The events of a fetched history, summarised (pure: no payload is decoded). */
export function summariseHistory(history: IHistory): HistoryEventSummary[] {
  const names = new Map<number, string>();
  return (history.events ?? []).map((e) => {
    const summary: HistoryEventSummary = {
      eventId: int(e.eventId),
      time: isoTime(e.eventTime),
      type: eventTypeName(e.eventType),
      detail: detailOf(e, names),
    };
    // Later events refer to these by id (completion → its activity, fired → its timer, done → its update).
    if (['ActivityTaskScheduled', 'TimerStarted', 'WorkflowExecutionUpdateAccepted'].includes(summary.type)) {
      names.set(summary.eventId, summary.detail);
    }
    return summary;
  });
}

/** Events from `fromEventId` on, at most `limit`; `nextCursor` is the next event's id, null at the end. */
export function historyPage(
  events: readonly HistoryEventSummary[],
  o: { fromEventId?: number; limit: number },
): { items: HistoryEventSummary[]; nextCursor: string | null } {
  const from = o.fromEventId ?? 1;
  const rest = events.filter((e) => e.eventId >= from);
  const items = rest.slice(0, o.limit);
  const next = rest[o.limit];
  return { items, nextCursor: next ? String(next.eventId) : null };
}

/** Reads payout workflows' histories through the Temporal client. */
export class PayoutHistory {
  readonly #client: Client;
  constructor(client: Client) {
    this.#client = client;
  }

  /** The summarised history of payout `payoutId`'s workflow; undefined when there is none (never started, or deleted: retention). */
  async read(payoutId: string): Promise<HistoryEventSummary[] | undefined> {
    try {
      const history = await this.#client.workflow.getHandle(payoutWorkflowId(payoutId)).fetchHistory();
      return summariseHistory(history);
    } catch (err) {
      // fetchHistory passes the service's error through as is: NOT_FOUND: no such workflow (never started, or past retention).
      if (isGrpcServiceError(err) && err.code === grpcStatus.NOT_FOUND) return undefined;
      throw err;
    }
  }
}
