// `temporal-dev workflow …` and `temporal-dev schedule …`: a small client for operators of a running
// temporal-dev (or any Temporal frontend), with the official `temporal` CLI's verbs and flags. It speaks
// gRPC with the same definitions as the server and prints text, or protobuf JSON with `-o json`.
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { toJson } from './http-json.ts';
import type { Obj } from './model.ts';
import { methodTypes } from './proto.ts';

const WORKFLOW_SERVICE = 'temporal.api.workflowservice.v1.WorkflowService';

interface Flag {
  names: string[];
  value?: string;
  help: string;
  required?: boolean;
}

interface Verb {
  summary: string;
  flags: Flag[];
  run(call: Caller, f: Record<string, string>, out: Output): Promise<void>;
}

type Caller = (method: string, request: Obj) => Promise<{ json: Obj; type: protobuf.Type }>;
type Output = (json: unknown, text: () => string) => void;

const COMMON: Flag[] = [
  { names: ['--address'], value: 'HOST:PORT', help: 'frontend to talk to (default 127.0.0.1:7233)' },
  { names: ['--namespace', '-n'], value: 'NS', help: 'namespace (default "default")' },
  { names: ['--output', '-o'], value: 'FORMAT', help: 'text (default) or json' },
];
const WORKFLOW_ID: Flag = {
  names: ['--workflow-id', '-w'],
  value: 'ID',
  help: 'workflow id',
  required: true,
};
const RUN_ID: Flag = { names: ['--run-id', '-r'], value: 'ID', help: 'run id (default: the latest run)' };
const REASON: Flag = { names: ['--reason'], value: 'TEXT', help: 'reason, recorded in history' };
const SCHEDULE_ID: Flag = {
  names: ['--schedule-id', '-s'],
  value: 'ID',
  help: 'schedule id',
  required: true,
};

const short = (s: unknown, prefix: string) => String(s ?? '').replace(prefix, '');
const execution = (f: Record<string, string>) => ({ workflowId: f['workflow-id'], runId: f['run-id'] });

/** A JSON payload as the CLI takes it (`--input '{"a":1}'`): json/plain, one payload per value. */
function payloads(inputs: string[]): Obj | undefined {
  if (inputs.length === 0) return undefined;
  return {
    payloads: inputs.map((text) => {
      try {
        JSON.parse(text);
      } catch {
        throw new UsageError(`--input ${text}: not JSON (quote strings: --input '"text"')`);
      }
      return { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(text) };
    }),
  };
}

class UsageError extends Error {}

const VERBS: Record<string, Record<string, Verb>> = {
  workflow: {
    list: {
      summary: 'list workflow executions matching a visibility query',
      flags: [
        {
          names: ['--query', '-q'],
          value: 'QUERY',
          help: 'visibility query, e.g. "ExecutionStatus = \'Running\'"',
        },
        { names: ['--limit'], value: 'N', help: 'at most N executions (default 100)' },
      ],
      async run(call, f, out) {
        const limit = f.limit ? Number(f.limit) : 100;
        if (!Number.isInteger(limit) || limit <= 0)
          throw new UsageError(`--limit ${f.limit}: expected a positive integer`);
        const rows: Obj[] = [];
        let token: Buffer | undefined;
        do {
          const { json } = await call('ListWorkflowExecutions', {
            namespace: f.namespace,
            query: f.query ?? '',
            pageSize: Math.min(limit - rows.length, 1000),
            nextPageToken: token,
          });
          rows.push(...((json.executions as Obj[]) ?? []));
          token = json.nextPageToken ? Buffer.from(String(json.nextPageToken), 'base64') : undefined;
        } while (token && rows.length < limit);
        out(rows, () =>
          [
            ['STATUS', 'WORKFLOW ID', 'TYPE', 'START TIME'].join('\t'),
            ...rows.map((r) =>
              [
                short(r.status, 'WORKFLOW_EXECUTION_STATUS_'),
                r.execution?.workflowId,
                r.type?.name,
                r.startTime,
              ].join('\t'),
            ),
          ].join('\n'),
        );
      },
    },
    describe: {
      summary: 'show a workflow execution: status, times, pending activities and children',
      flags: [WORKFLOW_ID, RUN_ID],
      async run(call, f, out) {
        const { json } = await call('DescribeWorkflowExecution', {
          namespace: f.namespace,
          execution: execution(f),
        });
        out(json, () => {
          const i = (json.workflowExecutionInfo ?? {}) as Obj;
          const lines = [
            `WorkflowId     ${i.execution?.workflowId}`,
            `RunId          ${i.execution?.runId}`,
            `Type           ${i.type?.name}`,
            `TaskQueue      ${i.taskQueue ?? ''}`,
            `Status         ${short(i.status, 'WORKFLOW_EXECUTION_STATUS_')}`,
            `StartTime      ${i.startTime ?? ''}`,
            ...(i.closeTime ? [`CloseTime      ${i.closeTime}`] : []),
            `HistoryLength  ${i.historyLength ?? 0}`,
          ];
          for (const a of (json.pendingActivities as Obj[]) ?? [])
            lines.push(
              `Activity       ${a.activityId} ${a.activityType?.name} ${short(a.state, 'PENDING_ACTIVITY_STATE_')} attempt ${a.attempt}`,
            );
          for (const c of (json.pendingChildren as Obj[]) ?? [])
            lines.push(`Child          ${c.workflowId} ${c.workflowTypeName}`);
          return lines.join('\n');
        });
      },
    },
    show: {
      summary: 'print the event history of a workflow execution',
      flags: [WORKFLOW_ID, RUN_ID],
      async run(call, f, out) {
        const events: Obj[] = [];
        let token: Buffer | undefined;
        do {
          const { json } = await call('GetWorkflowExecutionHistory', {
            namespace: f.namespace,
            execution: execution(f),
            nextPageToken: token,
          });
          events.push(...(((json.history as Obj)?.events as Obj[]) ?? []));
          token = json.nextPageToken ? Buffer.from(String(json.nextPageToken), 'base64') : undefined;
        } while (token);
        out({ events }, () =>
          events
            .map((e) =>
              [String(e.eventId).padStart(4), e.eventTime, short(e.eventType, 'EVENT_TYPE_')].join('  '),
            )
            .join('\n'),
        );
      },
    },
    signal: {
      summary: 'send a signal to a workflow execution',
      flags: [
        WORKFLOW_ID,
        RUN_ID,
        { names: ['--name'], value: 'NAME', help: 'signal name', required: true },
        { names: ['--input', '-i'], value: 'JSON', help: 'an argument as JSON; repeat for more' },
      ],
      async run(call, f, out) {
        await call('SignalWorkflowExecution', {
          namespace: f.namespace,
          workflowExecution: execution(f),
          signalName: f.name,
          input: payloads(f.input ? f.input.split('\u0000') : []),
          identity: 'temporal-dev cli',
        });
        out({}, () => `Signal ${f.name} sent to ${f['workflow-id']}.`);
      },
    },
    cancel: {
      summary: 'request cancellation of a workflow execution',
      flags: [WORKFLOW_ID, RUN_ID, REASON],
      async run(call, f, out) {
        await call('RequestCancelWorkflowExecution', {
          namespace: f.namespace,
          workflowExecution: execution(f),
          reason: f.reason ?? '',
          identity: 'temporal-dev cli',
        });
        out({}, () => `Cancellation requested for ${f['workflow-id']}.`);
      },
    },
    terminate: {
      summary: 'terminate a workflow execution',
      flags: [WORKFLOW_ID, RUN_ID, REASON],
      async run(call, f, out) {
        await call('TerminateWorkflowExecution', {
          namespace: f.namespace,
          workflowExecution: execution(f),
          reason: f.reason ?? '',
          identity: 'temporal-dev cli',
        });
        out({}, () => `Workflow ${f['workflow-id']} terminated.`);
      },
    },
    reset: {
      summary: 'reset a workflow execution to a workflow task (a new run replays up to it)',
      flags: [
        WORKFLOW_ID,
        RUN_ID,
        {
          names: ['--event-id', '-e'],
          value: 'N',
          help: 'the WorkflowTaskCompleted (or later task event) to reset to',
        },
        {
          names: ['--type', '-t'],
          value: 'TYPE',
          help: 'FirstWorkflowTask or LastWorkflowTask instead of --event-id',
        },
        REASON,
      ],
      async run(call, f, out) {
        let eventId = f['event-id'] ? Number(f['event-id']) : 0;
        if (f['event-id'] && !(Number.isInteger(eventId) && eventId > 0))
          throw new UsageError(`--event-id ${f['event-id']}: expected a positive integer`);
        if (!eventId) {
          if (f.type !== 'FirstWorkflowTask' && f.type !== 'LastWorkflowTask')
            throw new UsageError('reset needs --event-id N or --type FirstWorkflowTask|LastWorkflowTask');
          eventId = await workflowTaskEvent(call, f, f.type === 'FirstWorkflowTask');
        }
        const { json } = await call('ResetWorkflowExecution', {
          namespace: f.namespace,
          workflowExecution: execution(f),
          reason: f.reason ?? 'reset by temporal-dev cli',
          workflowTaskFinishEventId: eventId,
          requestId: `temporal-dev-cli-${Date.now()}`,
        });
        out(json, () => `Reset ${f['workflow-id']} to event ${eventId}: new run ${json.runId}.`);
      },
    },
  },
  schedule: {
    list: {
      summary: 'list schedules',
      flags: [],
      async run(call, f, out) {
        const rows: Obj[] = [];
        let token: Buffer | undefined;
        do {
          const { json } = await call('ListSchedules', {
            namespace: f.namespace,
            maximumPageSize: 1000,
            nextPageToken: token,
          });
          rows.push(...((json.schedules as Obj[]) ?? []));
          token = json.nextPageToken ? Buffer.from(String(json.nextPageToken), 'base64') : undefined;
        } while (token);
        out(rows, () =>
          [
            ['SCHEDULE ID', 'WORKFLOW TYPE', 'PAUSED', 'NEXT RUN'].join('\t'),
            ...rows.map((r) =>
              [
                r.scheduleId,
                r.info?.workflowType?.name ?? '',
                r.info?.paused ? 'yes' : 'no',
                r.info?.futureActionTimes?.[0] ?? '',
              ].join('\t'),
            ),
          ].join('\n'),
        );
      },
    },
    describe: {
      summary: 'show a schedule: spec, state, recent and next actions',
      flags: [SCHEDULE_ID],
      async run(call, f, out) {
        const { json } = await call('DescribeSchedule', {
          namespace: f.namespace,
          scheduleId: f['schedule-id'],
        });
        out(json, () => {
          const state = ((json.schedule as Obj)?.state ?? {}) as Obj;
          const info = (json.info ?? {}) as Obj;
          return [
            `ScheduleId     ${f['schedule-id']}`,
            `Paused         ${state.paused ? `yes${state.notes ? ` (${state.notes})` : ''}` : 'no'}`,
            `Actions        ${info.actionCount ?? 0}`,
            ...((info.recentActions as Obj[]) ?? []).map(
              (a) => `Recent         ${a.scheduleTime} ${a.startWorkflowResult?.workflowId ?? ''}`,
            ),
            ...((info.futureActionTimes as string[]) ?? []).slice(0, 5).map((t) => `Next           ${t}`),
          ].join('\n');
        });
      },
    },
    trigger: {
      summary: 'start the schedule action now',
      flags: [
        SCHEDULE_ID,
        { names: ['--overlap-policy'], value: 'POLICY', help: "e.g. AllowAll (default: the schedule's)" },
      ],
      async run(call, f, out) {
        const overlap = f['overlap-policy'] ? overlapPolicy(f['overlap-policy']) : 0;
        await call('PatchSchedule', {
          namespace: f.namespace,
          scheduleId: f['schedule-id'],
          patch: { triggerImmediately: { overlapPolicy: overlap } },
          identity: 'temporal-dev cli',
          requestId: `temporal-dev-cli-${Date.now()}`,
        });
        out({}, () => `Schedule ${f['schedule-id']} triggered.`);
      },
    },
  },
};

const OVERLAP = ['Skip', 'BufferOne', 'BufferAll', 'CancelOther', 'TerminateOther', 'AllowAll'];
function overlapPolicy(name: string): number {
  const i = OVERLAP.findIndex((p) => p.toLowerCase() === name.toLowerCase());
  if (i < 0) throw new UsageError(`--overlap-policy ${name}: expected one of ${OVERLAP.join(', ')}`);
  return i + 1;
}

/** The event id of the first or last WorkflowTaskCompleted, which is where a reset goes to. */
async function workflowTaskEvent(call: Caller, f: Record<string, string>, first: boolean): Promise<number> {
  const ids: number[] = [];
  let token: Buffer | undefined;
  do {
    const { json } = await call('GetWorkflowExecutionHistory', {
      namespace: f.namespace,
      execution: execution(f),
      nextPageToken: token,
    });
    for (const e of ((json.history as Obj)?.events as Obj[]) ?? [])
      if (e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED') ids.push(Number(e.eventId));
    token = json.nextPageToken ? Buffer.from(String(json.nextPageToken), 'base64') : undefined;
  } while (token);
  const id = first ? ids[0] : ids[ids.length - 1];
  if (!id) throw new UsageError(`${f['workflow-id']} has no completed workflow task to reset to`);
  return id;
}

function flagUsage(flags: Flag[]): string {
  return flags
    .map(
      (fl) =>
        `  ${`${fl.names.join(', ')}${fl.value ? ` ${fl.value}` : ''}`.padEnd(30)} ${fl.help}${fl.required ? ' (required)' : ''}`,
    )
    .join('\n');
}

export function adminUsage(group?: string, verb?: string): string {
  const g = group ? VERBS[group] : undefined;
  const v = g && verb ? g[verb] : undefined;
  if (g && v)
    return `usage: temporal-dev ${group} ${verb} [flags]\n\n${v.summary}.\n${flagUsage([...v.flags, ...COMMON])}`;
  const groups = g ? { [group!]: g } : VERBS;
  const lines = Object.entries(groups).flatMap(([name, verbs]) =>
    Object.entries(verbs).map(([vn, vv]) => `  temporal-dev ${name} ${vn.padEnd(10)} ${vv.summary}`),
  );
  return `usage: temporal-dev workflow|schedule VERB [flags]   (VERB --help for its flags)\n\n${lines.join('\n')}`;
}

/** Reads `VERB [flags]` for a group; --help anywhere prints that verb's help. */
function parse(
  group: string,
  argv: string[],
): { verb: Verb; name: string; flags: Record<string, string> } | 'help' {
  const name = argv[0];
  const verb = name ? VERBS[group]?.[name] : undefined;
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  if (!verb) throw new UsageError(name ? `unknown command ${group} ${name}` : `${group} needs a verb`);
  const known = [...verb.flags, ...COMMON];
  const flags: Record<string, string> = {};
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const def = known.find((k) => k.names.includes(flag));
    if (!def)
      throw new UsageError(flag.startsWith('-') ? `unknown flag ${flag}` : `unexpected argument ${arg}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`flag ${flag} needs a value`);
    const key = def.names[0]!.slice(2);
    // A repeated --input keeps each value (NUL never occurs in a command-line argument).
    flags[key] = key === 'input' && flags[key] !== undefined ? `${flags[key]}\u0000${value}` : value;
  }
  for (const def of verb.flags)
    if (def.required && flags[def.names[0]!.slice(2)] === undefined)
      throw new UsageError(`${group} ${name} needs ${def.names[0]}`);
  if (flags.output && flags.output !== 'text' && flags.output !== 'json')
    throw new UsageError(`--output ${flags.output}: expected text or json`);
  flags.namespace ??= 'default';
  return { verb, name: name ?? '', flags };
}

function caller(address: string): { call: Caller; close(): void } {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const call: Caller = (method, request) => {
    const [reqType, resType] = methodTypes(WORKFLOW_SERVICE, method);
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        `/${WORKFLOW_SERVICE}/${method}`,
        (o: Obj) => Buffer.from(reqType.encode(reqType.fromObject(o)).finish()),
        (b: Buffer) => b,
        request,
        { deadline: Date.now() + 30_000 },
        (err, res) => {
          if (err) return reject(err);
          const plain = resType.toObject(resType.decode(res!), {
            longs: String,
            enums: String,
            bytes: String,
          });
          resolve({ json: toJson(resType, plain, { shorthand: true }) as Obj, type: resType });
        },
      );
    });
  };
  return { call, close: () => client.close() };
}

/** Runs `temporal-dev GROUP VERB …`; resolves to the process exit code. */
export async function runAdmin(
  group: string,
  argv: string[],
  io: { out(s: string): void; err(s: string): void } = {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
  },
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(group, argv);
  } catch (err) {
    io.err(`temporal-dev: ${(err as Error).message}\n\n${adminUsage(group, argv[0])}`);
    return 2;
  }
  if (parsed === 'help') {
    io.out(adminUsage(group, argv[0]));
    return 0;
  }
  const { verb, flags } = parsed;
  const { call, close } = caller(flags.address ?? '127.0.0.1:7233');
  const out: Output = (json, text) =>
    io.out(flags.output === 'json' ? JSON.stringify(json, null, 2) : text());
  try {
    await verb.run(call, flags, out);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`temporal-dev: ${err.message}`);
      return 2;
    }
    const e = err as { code?: number; details?: string; message?: string };
    const code = e.code !== undefined ? (grpc.status[e.code] ?? String(e.code)) : 'error';
    io.err(`temporal-dev: ${code}: ${e.details || e.message}`);
    return 1;
  } finally {
    close();
  }
}

export const ADMIN_GROUPS = Object.keys(VERBS);
