// `npm run bench:period [-- --payees N=100000 --events-per-payee 10 --batch-size 2000 --auto-payout-share 0
//                          --timeout-min M --keep-schema]`
//
// One commission period end to end on the embedded stack: a seeded sponsor tree of N payees, 10 events
// each ingested in 10,000-event batches (the same set-based ingestion the API uses), then the real
// period-close workflow on bin/temporal-dev with a real worker: close + calculate, approve, post,
// payout fan-out, completion. Prints wall time per stage, payees/s, history events of the period
// workflow per payee, the longest workflow task of its history, how many auto-payouts ended final, the
// largest history of any workflow, peak RSS and the load average. Auto-payout payees opt in to instant
// payouts (the sandbox's instant rail pays at submit), so every payout can end final inside the run
// instead of waiting for the next scheduled payout window.
// While the fan-out runs, a progress line every 30 s: payouts by state, the period's stage, RSS. The run
// gives up after --timeout-min (default scaled with payees), printing the payouts not final and their
// timers first; --keep-schema leaves the schema in place for inspection.
// Database: $DATABASE_URL (real PostgreSQL) or embedded PGlite when unset; a fresh schema, dropped after.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { WorkflowHandle } from '@temporalio/client';
import { createActivities } from '../src/app/activities.ts';
import { createServices } from '../src/app/services.ts';
import { parseCli } from '../src/cli/args.ts';
import { loadConfig } from '../src/config/index.ts';
import { defaultPeriodsConfig } from '../src/config/periods.ts';
import { keyringFromKeys } from '../src/crypto/index.ts';
import { startEmbeddedDatabase } from '../src/db/embedded.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { openDatabase } from '../src/db/open.ts';
import { sql } from '../src/db/sql.ts';
import { ingestEarnings } from '../src/earnings/ingest.ts';
import { eventTypeName } from '../src/payouts/history.ts';
import { FINAL_STATES } from '../src/payouts/state.ts';
import { queueOutcomes } from '../src/payouts/waves.ts';
import { PeriodGateway } from '../src/periods/gateway.ts';
import { seedEvents, seedPayees } from '../src/periods/seed.ts';
import { magicBehaviour } from '../src/providers/sandbox/scenario.ts';
import { createDisburseWorker } from '../src/worker/create-worker.ts';
import { createTestEnv, DISBURSE_SEARCH_ATTRIBUTES, installQuietLogger } from '../test/support/temporal.ts';
import {
  type CompletionSummary,
  type PeriodProgress,
  periodWorkflowId,
} from '../workflows/period-contract.ts';

const cli = parseCli({
  usage: `usage: npm run bench:period -- [--payees N=100000] [--events-per-payee E=10] [--batch-size B=2000]
                            [--auto-payout-share S=0] [--timeout-min M] [--keep-schema]

One commission period end to end (seed, ingest, close + calculate, approve + post, payout fan-out) on
bin/temporal-dev with a real worker; prints wall time per stage, payees/s, history events per payee,
the largest workflow history, peak RSS and the load average.
  --payees N             payees in the seeded sponsor tree (default 100000)
  --events-per-payee E   earnings events per payee (default 10)
  --batch-size B         payees per calculation batch (default 2000)
  --auto-payout-share S  share of payees on auto-payout, 0..1 (payout workflows started; default 0)
  --timeout-min M        give up after M minutes of the whole run, printing what is not final
                         (default 20 + 1 per 1,000 payees: 120 at 100,000)
  --keep-schema          leave the bench schema in place at exit (its name is printed) for inspection
  -h, --help             print this help and exit (nothing runs)

Database: DATABASE_URL (PostgreSQL) or embedded PGlite when unset; a fresh schema, dropped after unless
--keep-schema.`,
  options: {
    payees: { type: 'string', default: '100000' },
    'events-per-payee': { type: 'string', default: '10' },
    'batch-size': { type: 'string', default: '2000' },
    'auto-payout-share': { type: 'string', default: '0' },
    'timeout-min': { type: 'string' },
    'keep-schema': { type: 'boolean', default: false },
  },
});
const payees = cli.integer('payees', { min: 1 });
const perPayee = cli.integer('events-per-payee', { min: 1 });
const batchSize = cli.integer('batch-size', { min: 1 });
const autoShare = cli.number('auto-payout-share', { min: 0, max: 1 });
const timeoutMin =
  cli.values['timeout-min'] === undefined
    ? 20 + Math.ceil(payees / 1000)
    : cli.integer('timeout-min', { min: 1 });
const keepSchema = cli.values['keep-schema'] === true;
const startedAt = performance.now();

let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);
/** RSS of this process's descendants (the temporal-dev server), in bytes, from /proc. */
function descendantsRss(): number {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while the directory was read
    }
  }
  let rss = 0;
  for (const pid of parent.keys()) {
    let up = parent.get(pid);
    while (up && up !== process.pid) up = parent.get(up);
    if (up !== process.pid) continue;
    try {
      rss += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
    } catch {
      // ended meanwhile
    }
  }
  return rss;
}
// Walking /proc costs more than memoryUsage(): every 2 s is enough for a server whose heap moves slowly.
let peakServerRss = 0;
let peakTotalRss = 0;
const serverSampler = setInterval(() => {
  const server = descendantsRss();
  peakServerRss = Math.max(peakServerRss, server);
  peakTotalRss = Math.max(peakTotalRss, server + process.memoryUsage().rss);
}, 2_000);
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
const loadBefore = loadavg();
/**
 * CPU time so far, in ms: this process (bench, worker, workflow threads) and its descendants (the
 * temporal-dev server), read from /proc so that a noisy shared machine shows work done, not only wall time.
 */
function cpuMs(): { node: number; server: number } {
  const node = (process.cpuUsage().user + process.cpuUsage().system) / 1000;
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      ticks.set(Number(d), Number(f[11]) + Number(f[12]));
    } catch {
      // the process ended while the directory was read
    }
  }
  let server = 0;
  for (const [pid, t] of ticks) {
    let up = parent.get(pid);
    while (up && up !== process.pid) up = parent.get(up);
    if (up === process.pid) server += t * 10; // USER_HZ is 100 on Linux
  }
  return { node, server };
}
const stages: { stage: string; ms: number; cpu: { node: number; server: number }; note?: string }[] = [];
async function stage<T>(name: string, fn: () => Promise<T>, note?: (r: T) => string): Promise<T> {
  const t0 = performance.now();
  const c0 = cpuMs();
  const r = await fn();
  const c1 = cpuMs();
  stages.push({
    stage: name,
    ms: performance.now() - t0,
    cpu: { node: c1.node - c0.node, server: c1.server - c0.server },
    ...(note ? { note: note(r) } : {}),
  });
  console.error(`  ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];
const int = (v: unknown): number =>
  v == null ? 0 : typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
const eventMs = (e: HistoryEvent) => int(e.eventTime?.seconds) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

interface TaskTimes {
  /** The longest gap between a WorkflowTaskStarted event and the WorkflowTaskCompleted that answers it. */
  longestMs: number;
  /** What that task did: the event after its completion (type, and the activity it scheduled). */
  after: string;
  /** Tasks over one second. */
  overOneSecond: number;
}

function workflowTaskTimes(events: readonly HistoryEvent[]): TaskTimes {
  const started = new Map<number, number>();
  const out: TaskTimes = { longestMs: 0, after: '', overOneSecond: 0 };
  for (const [i, e] of events.entries()) {
    if (e.workflowTaskStartedEventAttributes) started.set(int(e.eventId), eventMs(e));
    const done = e.workflowTaskCompletedEventAttributes;
    const at = done ? started.get(int(done.startedEventId)) : undefined;
    if (at === undefined) continue;
    const ms = eventMs(e) - at;
    if (ms > 1_000) out.overOneSecond++;
    if (ms > out.longestMs) {
      const next = events[i + 1];
      const activity = next?.activityTaskScheduledEventAttributes?.activityType?.name;
      out.longestMs = ms;
      out.after = `${eventTypeName(next?.eventType)}${activity ? ` ${activity}` : ''}`;
    }
  }
  return out;
}

/** Every run of the period workflow (the current one, then back along continue-as-new): events, longest task. */
async function periodRuns(periodId: string): Promise<{ runId: string; events: number; tasks: TaskTimes }[]> {
  const out: { runId: string; events: number; tasks: TaskTimes }[] = [];
  let runId: string | undefined;
  for (;;) {
    const h = await temporal.client.workflow.getHandle(periodWorkflowId(periodId), runId).fetchHistory();
    const events = h.events ?? [];
    const first = events[0]?.workflowExecutionStartedEventAttributes;
    out.push({
      runId: runId ?? 'current',
      events: events.length,
      tasks: workflowTaskTimes(events),
    });
    runId = first?.continuedExecutionRunId || undefined;
    if (!runId) return out;
  }
}

installQuietLogger();
const embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedDatabase();
const url = process.env.DATABASE_URL ?? embedded!.url;
const schema = `bench_period_${randomBytes(4).toString('hex')}`;
const db = await openDatabase({ url, schema, poolMax: 10 });
const temporal = await createTestEnv({ timeSkipping: true, searchAttributes: DISBURSE_SEARCH_ATTRIBUTES });
try {
  await migrateDatabase(db);
  // No destination cool-off (the bench adds the auto-payout payees' bank accounts just before the period)
  // and no approvals: the bench measures the close and its fan-out, not the risk desk.
  const config = loadConfig({
    DATABASE_URL: url,
    RISK_DESTINATION_COOL_OFF: '0s',
    APPROVAL_THRESHOLD_SINGLE: 'USD:100000000',
    APPROVAL_THRESHOLD_DUAL: 'USD:200000000',
  });
  const periods = defaultPeriodsConfig({
    PERIOD_BATCH_SIZE: String(batchSize),
    PERIOD_DUAL_CONTROL_THRESHOLD: 'USD:999999999999999',
  });
  const keyring = keyringFromKeys([['k1', randomBytes(32)]]);
  const services = await createServices({
    db,
    keyring,
    fingerprintKey: randomBytes(32),
    payouts: config.payouts,
    periods,
  });
  const taskQueue = `bench-period-${randomBytes(3).toString('hex')}`;
  const worker = await createDisburseWorker({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace ?? 'default',
    taskQueue,
    activities: createActivities(services),
  });
  const running = worker.run();
  const gateway = new PeriodGateway(temporal.client, taskQueue, {
    reminderMs: periods.reminderMs,
    escalationMs: periods.escalationMs,
    payoutWindow: periods.payoutWindow,
    payoutPollMs: 5_000,
  });
  const periodId = '2026-01';
  console.error(
    `bench:period  payees=${payees} events/payee=${perPayee} batch=${batchSize} schema=${schema} temporal=${temporal.address} taskQueue=${taskQueue} timeout=${timeoutMin} min${keepSchema ? ' (schema kept)' : ''}`,
  );

  const { ids } = await stage('seed payees (tree)', () =>
    seedPayees(db, { count: payees, seed: 1, prefix: 'b0', autoPayoutShare: autoShare }),
  );
  // Auto-payout payees get a bank account (through the payee service: encrypted, fingerprinted), so their
  // payouts take the real path; without one a payout fails at routing with no_destination.
  await stage(
    'seed destinations (auto)',
    async () => {
      const auto = await sql<{ id: string }>(
        db.em(),
        `SELECT id FROM "${schema}".payees WHERE auto_payout ORDER BY id`,
      );
      // Eight at a time (the pool has ten connections): seeding is not timed, but 50,000 one by one is slow.
      for (let start = 0; start < auto.length; start += 8) {
        await Promise.all(
          auto.slice(start, start + 8).map(({ id }, k) =>
            services.payees.putDestination(
              db.em(),
              id,
              'bank_account',
              {
                // Ends in 1237: never one of the sandbox's magic suffixes (0001-0009).
                accountNumber: `8${String(start + k).padStart(8, '0')}1237`,
                routingNumber: '011000015',
                holderName: 'Seeded payee',
                country: 'US',
                currency: 'USD',
              },
              'bench',
            ),
          ),
        );
      }
      // Instant rail: paid at submit, so every auto-payout is final when the close completes.
      await sql(db.em(), `UPDATE "${schema}".payees SET instant_opt_in = true WHERE auto_payout`);
      return auto.length;
    },
    (n) => `${n} payees, instant opt-in`,
  );
  // Events are generated per 1,000 payees (one 10,000-event request's worth) so memory stays flat.
  const chunk = Math.max(1, Math.floor(10_000 / perPayee));
  const eventCount = await stage(
    'ingest',
    async () => {
      let n = 0;
      for (let i = 0; i < ids.length; i += chunk) {
        const events = seedEvents(ids.slice(i, i + chunk), { perPayee, seed: 2 + i, month: '2026-01' });
        await db.em().transactional((em) => ingestEarnings(em, schema, periods.calendar, events, 'reject'));
        n += events.length;
      }
      return n;
    },
    (n) => `${n} events`,
  );
  const poll = async (pred: (p: PeriodProgress) => boolean): Promise<PeriodProgress> => {
    for (;;) {
      const p = await gateway.progress(periodId);
      if (p && pred(p)) return p;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const calculated = await stage(
    'close + calculate',
    async () => {
      await gateway.close(periodId, { actor: 'bench', role: 'platform' }, services.periods);
      return poll((p) => p.stage === 'awaiting_approval');
    },
    (p) => `${p.calculation.batchesTotal} batches, ${p.calculation.payees} payees`,
  );
  await stage('approve + post', async () => {
    await gateway.decide(periodId, { actor: 'bench-approver', role: 'approver' }, 'approve', 'bench');
    return poll((p) => p.stage === 'paying_out' || p.stage === 'completed');
  });
  const queue = { table: 'period_payouts', ownerColumn: 'period_id', ownerId: periodId } as const;
  // Payouts not final, by state and by the timer they wait on (what a stalled tail is made of).
  const pending = () =>
    sql<{ state: string; timer: string | null; n: string; oldest: string }>(
      db.em(),
      `SELECT p.state, p.state_doc->'nextTimer'->>'purpose' AS timer, count(*)::text AS n,
              min(p.updated_at)::text AS oldest
         FROM "${schema}".period_payouts q JOIN "${schema}".payouts p ON p.id = q.payout_id
        WHERE q.period_id = $1 AND NOT p.state = ANY($2::text[]) GROUP BY 1, 2 ORDER BY 3 DESC`,
      [periodId, FINAL_STATES],
    );
  const progressLine = async () => {
    const [outcomes, p] = await Promise.all([
      queueOutcomes(db.em(), schema, queue),
      gateway.progress(periodId),
    ]);
    const at = ((performance.now() - startedAt) / 1000).toFixed(0);
    console.error(
      `  [${at} s] ${p?.stage ?? '?'} payouts ${JSON.stringify(outcomes)} rss bench ${mib(process.memoryUsage().rss)} temporal-dev ${mib(descendantsRss())} load ${loadavg()[0]?.toFixed(2)}`,
    );
  };
  const summary = await stage(
    'payout fan-out + complete',
    async () => {
      const ticker = setInterval(() => void progressLine().catch(() => {}), 30_000);
      const left = timeoutMin * 60_000 - (performance.now() - startedAt);
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          gateway.handle(periodId).result() as Promise<CompletionSummary>,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`timed out after ${timeoutMin} min`)),
              Math.max(0, left),
            );
          }),
        ]);
      } catch (error) {
        await progressLine().catch(() => {});
        for (const r of await pending()) {
          console.error(
            `  not final: ${r.n} ${r.state}${r.timer ? ` waiting on ${r.timer}` : ''}, oldest update ${r.oldest}`,
          );
        }
        throw error;
      } finally {
        clearInterval(ticker);
        clearTimeout(timer);
      }
    },
    (s) => JSON.stringify(s.payouts),
  );
  const final = (await gateway.progress(periodId))!;
  const runs = await periodRuns(periodId);
  const periodEvents = runs.reduce((n, r) => n + r.events, 0);
  const largestPeriodRun = Math.max(...runs.map((r) => r.events));
  const longestRun = runs.reduce((a, b) => (b.tasks.longestMs > a.tasks.longestMs ? b : a));
  const longestTask = longestRun.tasks.longestMs;
  const tasksOverOneSecond = runs.reduce((n, r) => n + r.tasks.overOneSecond, 0);
  const [queued] = await sql<{ total: string; final: string }>(
    db.em(),
    `SELECT count(*)::text AS total, count(*) FILTER (WHERE p.state = ANY($2::text[]))::text AS final
       FROM "${schema}".period_payouts q LEFT JOIN "${schema}".payouts p ON p.id = q.payout_id
      WHERE q.period_id = $1`,
    [periodId, FINAL_STATES],
  );
  // Every payout not final, by id, with its amount and what the sandbox does with the amount it is sent (net
  // of fee and withholding): amounts whose minor units mod 10,000 are 9901-9909 are the sandbox's magic values
  // (a timeout, an outage, …), which commission amounts hit for about 9 payouts in 10,000.
  const notFinal = await sql<{
    id: string;
    state: string;
    amount: string;
    net: string;
    reason: string | null;
  }>(
    db.em(),
    `SELECT p.id, p.state, p.amount::text AS amount, (p.amount - p.fee - p.withholding)::text AS net,
            p.state_doc->'reasons'->-1->>'code' AS reason
       FROM "${schema}".period_payouts q JOIN "${schema}".payouts p ON p.id = q.payout_id
      WHERE q.period_id = $1 AND NOT p.state = ANY($2::text[]) ORDER BY p.id`,
    [periodId, FINAL_STATES],
  );
  // Largest payout workflow history and longest payout workflow task (a sample of up to 100).
  const payoutIds = await sql<{ payout_id: string }>(
    db.em(),
    `SELECT payout_id FROM "${schema}".period_payouts WHERE period_id = $1 LIMIT 100`,
    [periodId],
  );
  let largestPayout = 0;
  let longestPayoutTask = 0;
  for (const r of payoutIds) {
    const h = await temporal.client.workflow.getHandle(`payout-${r.payout_id}`).fetchHistory();
    largestPayout = Math.max(largestPayout, h.events?.length ?? 0);
    longestPayoutTask = Math.max(longestPayoutTask, workflowTaskTimes(h.events ?? []).longestMs);
  }
  worker.shutdown();
  await running;
  await services.stop();
  clearInterval(sampler);
  clearInterval(serverSampler);

  const total = stages.filter((s) => !s.stage.startsWith('seed')).reduce((s, x) => s + x.ms, 0);
  console.log(
    `\nbench:period — ${payees} payees, ${eventCount} events, batch ${batchSize}, db ${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}`,
  );
  console.log('stage                        wall s   payees/s  cpu s node/server  note');
  const cpuCol = (c: { node: number; server: number }) =>
    `${(c.node / 1000).toFixed(1)}/${(c.server / 1000).toFixed(1)}`.padStart(17);
  for (const s of stages) {
    console.log(
      `${s.stage.padEnd(28)} ${(s.ms / 1000).toFixed(1).padStart(7)} ${Math.round(payees / (s.ms / 1000))
        .toString()
        .padStart(10)}  ${cpuCol(s.cpu)}  ${s.note ?? ''}`,
    );
  }
  const timed = stages.filter((s) => !s.stage.startsWith('seed'));
  const timedCpu = {
    node: timed.reduce((n, s) => n + s.cpu.node, 0),
    server: timed.reduce((n, s) => n + s.cpu.server, 0),
  };
  console.log(
    `${'end to end (excl. seed)'.padEnd(28)} ${(total / 1000).toFixed(1).padStart(7)} ${Math.round(
      payees / (total / 1000),
    )
      .toString()
      .padStart(10)}  ${cpuCol(timedCpu)}`,
  );
  const fanOut = stages.find((s) => s.stage.startsWith('payout fan-out'));
  if (fanOut && Number(queued?.total ?? 0) > 0) {
    const n = Number(queued!.total);
    console.log(
      `fan-out: ${(n / (fanOut.ms / 1000)).toFixed(1)} payouts/s; cpu per payout ${(fanOut.cpu.node / n).toFixed(1)} ms node (bench + worker), ${(fanOut.cpu.server / n).toFixed(1)} ms temporal-dev (PostgreSQL not counted)`,
    );
  }
  console.log(
    `statements: ${calculated.calculation.payees} payees; postings ${summary.postings}; totals ${JSON.stringify(summary.totals)}`,
  );
  console.log(
    `${'events per payee'.padEnd(28)} ${(periodEvents / payees).toFixed(4)}  (period workflow: ${periodEvents} events over ${runs.length} run(s), largest run ${largestPeriodRun}; progress says ${final.history.continuedAsNew} continue-as-new)`,
  );
  console.log(
    `${'longest workflow task ms'.padEnd(28)} ${longestTask.toFixed(0)}  (period workflow, WorkflowTaskStarted→Completed, followed by ${longestRun.tasks.after}; ${tasksOverOneSecond} task(s) over 1 s; payout sample of ${payoutIds.length}: ${longestPayoutTask.toFixed(0)})`,
  );
  console.log(
    `${'payouts final'.padEnd(28)} ${queued?.final ?? 0} of ${queued?.total ?? 0}  (instant rail; by state at completion ${JSON.stringify(summary.payouts)})`,
  );
  for (const p of notFinal.slice(0, 20)) {
    const magic = magicBehaviour('', BigInt(p.net));
    console.log(
      `  not final: ${p.id} ${p.state}${p.reason ? ` (${p.reason})` : ''}, amount ${p.amount}, sent ${p.net}${magic ? ` — sandbox magic amount: ${magic}` : ''}`,
    );
  }
  if (notFinal.length > 20) console.log(`  … and ${notFinal.length - 20} more not final`);
  console.log(`largest payout workflow history (sample of ${payoutIds.length}): ${largestPayout}`);
  console.log(
    `peak RSS: bench + worker process ${mib(peakRss)}, temporal-dev ${mib(peakServerRss)}, both at once ${mib(peakTotalRss)} (sampled every 2 s)`,
  );
  console.log(
    `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  clearInterval(sampler);
  clearInterval(serverSampler);
  if (keepSchema) console.error(`schema kept: ${schema}`);
  else await sql(db.em(), `DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
  await db.close();
  await temporal.teardown();
  await embedded?.stop?.();
}
