// --db-filename: the whole server state (namespaces, runs with their histories, timers, pending
// activities and workflow tasks) is snapshotted to one JSON file, written atomically shortly after
// every change and on shutdown. On start the snapshot is loaded and every timer and task re-armed,
// so a restarted dev server resumes running workflows.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { scheduleActivity } from './activities.ts';
import { armWorkflowTimer } from './commands.ts';
import type { Engine, Logger } from './engine.ts';
import { attrsOf } from './history.ts';
import type { Run } from './model.ts';
import { durMs, tsMs } from './model.ts';
import { EventType, ExecStatus } from './proto.ts';

const FORMAT = 1;
const mapKeys = ['activities', 'timers', 'children', 'updates'] as const;

function replacer(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object') {
    const v = value as { type?: string; data?: unknown };
    if (v.type === 'Buffer' && Array.isArray(v.data))
      return { $b: Buffer.from(v.data as number[]).toString('base64') };
    if (value instanceof Uint8Array) return { $b: Buffer.from(value).toString('base64') };
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && '$b' in value && Object.keys(value).length === 1) {
    return Buffer.from((value as { $b: string }).$b, 'base64');
  }
  return value;
}

function serialize(engine: Engine): string {
  const runs = [...engine.runs.values()].map((r) => {
    const out: Record<string, unknown> = { ...r };
    for (const k of mapKeys) out[k] = [...r[k].entries()];
    return out;
  });
  const namespaces = [...engine.namespaces.values()].map((n) => ({
    name: n.name,
    id: n.id,
    searchAttributes: [...n.searchAttributes.entries()],
  }));
  return JSON.stringify({ format: FORMAT, savedAt: engine.clock.now(), namespaces, runs }, replacer);
}

function load(engine: Engine, file: string): Run[] {
  const data = JSON.parse(readFileSync(file, 'utf8'), reviver);
  if (data.format !== FORMAT)
    throw new Error(`${file}: unsupported temporal-dev state format ${data.format}`);
  for (const n of data.namespaces ?? []) {
    const ns = engine.ensureNamespace(n.name);
    ns.id = n.id;
    for (const [k, v] of n.searchAttributes) ns.searchAttributes.set(k, v);
  }
  const runs: Run[] = [];
  for (const raw of data.runs ?? []) {
    const run = raw as Run;
    for (const k of mapKeys) (run as unknown as Record<string, unknown>)[k] = new Map(raw[k]);
    engine.runs.set(run.runId, run);
    const key = engine.key(run.ns, run.workflowId);
    const cur = engine.current.get(key);
    if (!cur || cur.startTime <= run.startTime) engine.current.set(key, run);
    runs.push(run);
  }
  return runs;
}

/** Re-arms timers and re-queues work of an open run after a restart. */
function resume(engine: Engine, run: Run): void {
  if (run.status !== ExecStatus.RUNNING) return;
  run.sticky = null;
  engine.armRunTimeout(run);
  for (const [timerId, startedEventId] of run.timers) {
    const started = run.history[startedEventId - 1];
    const at = tsMs(started?.eventTime) + durMs(started ? attrsOf(started).startToFireTimeout : undefined);
    armWorkflowTimer(engine, run, timerId, startedEventId, at);
  }
  for (const a of run.activities.values()) {
    // The worker that held a started attempt is gone with the old process: hand the attempt out again.
    if (a.state === 'backoff') a.state = 'scheduled';
    if (a.state === 'started') a.state = 'scheduled';
    scheduleActivity(engine, run, a);
  }
  for (const u of run.updates.values()) u.delivered = false;
  const w = run.wft;
  if (w) {
    engine.clock.hold();
    if (w.startedEventId > 0) {
      engine.failWft(run, 'timeout', undefined);
    } else {
      w.onSticky = false;
      engine.enqueueWft(run);
    }
  } else if (run.firstWftAt > engine.clock.now()) {
    // start delay / retry backoff still pending
    engine.clock.schedule(run.firstWftAt, () => engine.requestWft(run));
  } else if (run.history.at(-1)?.eventType === EventType.WORKFLOW_EXECUTION_STARTED) {
    engine.requestWft(run);
  }
}

export interface Persistence {
  flush(): void;
}

export async function attachPersistence(engine: Engine, file: string, log: Logger): Promise<Persistence> {
  if (existsSync(file)) {
    const runs = load(engine, file);
    for (const run of runs) resume(engine, run);
    log.info(`temporal-dev: loaded ${runs.length} runs from ${file}`);
  }
  let dirty = false;
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!dirty) return;
    dirty = false;
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, serialize(engine));
    renameSync(tmp, file);
  };
  engine.setChangeHook(() => {
    dirty = true;
    if (!timer) timer = setTimeout(flush, 50);
  });
  engine.persistNamespaces = () => {
    dirty = true;
    flush();
  };
  dirty = true;
  flush();
  return { flush };
}
