// Issue 14's fault suite (`npm run test:faults`): payouts driven through the real API and worker processes
// while a scenario SIGKILLs the worker, the API or temporal-dev, terminates the app's database connections,
// or makes a provider time out, go down or pay late. After each: every payout final or visibly waiting,
// none disbursed twice, `npm run ledger:verify` OK, sandbox paid total = ledger provider_clearing. A table
// of the figures is printed; recovery seconds are printed, never asserted (a shared machine is noisy).
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { backendKiller } from '../support/db-faults.ts';
import { type FaultStack, type Recovery, type SandboxSpec, startFaultStack } from './fault-stack.ts';
import { killLeftovers } from './processes.ts';

/** Payouts per scenario and clients sending them at once: sized for ~10 minutes on 2 cores. */
const PAYOUTS = Number(process.env.FAULT_PAYOUTS ?? 36);
const CONCURRENCY = 4;
/** Pause of each client between its requests: the load lasts ~PAYOUTS / CONCURRENCY × PACE_MS. */
const PACE_MS = 1200;
/** How long a scenario waits for its payouts to become final before reporting what is not. */
const SETTLE_MS = 120_000;
/** Recovery is given this long; past it the scenario reports "not recovered" instead of waiting on. */
const RECOVERY_BOUND_MS = 90_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  scenario: string;
  payouts: number;
  paid: number;
  failed: number;
  pending: number;
  wedged: number;
  doubled: number;
  ledger: string;
  clearing: string;
  ready: string;
  accepted: string;
  recovery: string;
}
const rows: Row[] = [];

// A scenario that ran past its timeout left its processes: they would hold its ports and CPU for the next.
afterEach(async () => {
  const left = await killLeftovers();
  if (left.length > 0) process.stderr.write(`killed processes a scenario left running: ${left.join(', ')}\n`);
});

afterAll(() => {
  const cols: (keyof Row)[] = [
    'scenario',
    'payouts',
    'paid',
    'failed',
    'pending',
    'wedged',
    'doubled',
    'ledger',
    'clearing',
    'ready',
    'accepted',
    'recovery',
  ];
  const header: Record<keyof Row, string> = {
    scenario: 'scenario',
    payouts: 'payouts',
    paid: 'paid',
    failed: 'failed',
    pending: 'pending',
    wedged: 'wedged',
    doubled: 'doubled',
    ledger: 'ledger:verify',
    clearing: 'sandbox=clearing',
    ready: 'ready s',
    accepted: 'accepted s',
    recovery: 'recovery s',
  };
  const cells = [header, ...rows].map((r) => cols.map((c) => String(r[c])));
  const widths = cols.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write(
    `\nFault suite (${PAYOUTS} payouts per scenario, ${CONCURRENCY} clients)\n${cells.map(line).join('\n')}\n` +
      'seconds from the fault ending (process restarted, last connection terminated) to: ready s /readyz 200; accepted s\n' +
      'a new payout accepted (202); recovery s that payout paid (it queues behind the payouts the fault held up)\n',
  );
});

/** The recovery columns: '-' without a timed fault, 'none in N' for a sign not seen within the bound. */
function recoveryCells(faultEnd: number | undefined, r: Recovery | undefined) {
  const cell = (v: number | undefined) =>
    faultEnd === undefined ? '-' : v === undefined ? `none in ${RECOVERY_BOUND_MS / 1000}` : v.toFixed(1);
  return { ready: cell(r?.ready), accepted: cell(r?.accepted), recovery: cell(r?.paid) };
}

interface Scenario {
  name: string;
  providers?: SandboxSpec[];
  /** Runs while the load is under way; answers the fault's end (ms epoch) when recovery is to be timed. */
  fault?: (s: FaultStack) => Promise<number | undefined>;
}

const backup: SandboxSpec = { name: 'sandbox_b', capabilities: { priority: 20 } };

async function killAndRestart(s: FaultStack, which: 'worker' | 'api' | 'temporal'): Promise<number> {
  await s.kill(which);
  await sleep(3000); // down for a while, under load
  await s.restart(which);
  return Date.now();
}

const scenarios: Scenario[] = [
  { name: 'worker SIGKILL', fault: (s) => killAndRestart(s, 'worker') },
  { name: 'api SIGKILL', fault: (s) => killAndRestart(s, 'api') },
  { name: 'temporal-dev SIGKILL', fault: (s) => killAndRestart(s, 'temporal') },
  {
    name: 'db connections terminated',
    async fault(s) {
      const killer = await backendKiller(s.applicationName);
      try {
        let terminated = 0;
        for (let i = 0; i < 6; i++) {
          terminated += await killer.terminate();
          await sleep(1500);
        }
        terminated += await killer.terminate();
        if (terminated === 0) throw new Error(`no backend named ${s.applicationName} to terminate`);
        return Date.now();
      } finally {
        await killer.close();
      }
    },
  },
  {
    name: 'provider timeout-but-paid',
    providers: [{ name: 'sandbox', scenario: { timeoutButPaidRateBps: 4000 } }, backup],
  },
  {
    name: 'provider outage',
    providers: [{ name: 'sandbox', scenario: { outage: true } }, backup],
  },
  {
    name: 'provider pays late',
    providers: [{ name: 'sandbox', scenario: { instantConfirmation: 'webhook', latencyMs: 6000 } }, backup],
  },
];

describe('fault suite', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    const t0 = Date.now();
    const phase = (what: string) =>
      process.stderr.write(`[${scenario.name}] ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const s = await startFaultStack(
      scenario.name.replace(/[^a-z]+/gi, '_').toLowerCase(),
      scenario.providers ?? [{ name: 'sandbox' }, backup],
    );
    phase('started');
    try {
      const payees: string[] = [];
      for (let i = 0; i < Math.ceil(PAYOUTS / 3); i++) payees.push(await s.createPayee('100000'));
      const probe = await s.createPayee('100000');
      phase('payees created');

      // The load: PAYOUTS requests from CONCURRENCY clients; the fault starts once a third are accepted.
      let next = 0;
      let accepted = 0;
      let faultStarted: () => void = () => {};
      const third = new Promise<void>((r) => {
        faultStarted = r;
      });
      const client = async () => {
        while (next < PAYOUTS) {
          const i = next++;
          await s.requestPayout(payees[i % payees.length]!, String(500 + i));
          if (++accepted >= PAYOUTS / 3) faultStarted();
          await sleep(PACE_MS); // spread the load so the fault lands in the middle of it
        }
      };
      const load = Promise.all(Array.from({ length: CONCURRENCY }, client));
      // Recovery is timed from the fault's end while the rest of the load is still being retried.
      const fault = third.then(async () => {
        const end = await scenario.fault?.(s);
        return end === undefined
          ? { end }
          : { end, recovered: await s.recovery(end, probe, RECOVERY_BOUND_MS) };
      });
      const [, { end: faultEnd, recovered }] = await Promise.all([load, fault]);

      phase('load done');
      // A slow recovery: where the probe payout's time went, from its workflow history.
      if (
        faultEnd !== undefined &&
        recovered?.probe &&
        !(recovered.paid !== undefined && recovered.paid <= 10)
      )
        process.stderr.write(
          `[${scenario.name}] probe ${recovered.probe}, seconds after the fault ended:\n${await s.timeline(recovered.probe, faultEnd)}\n`,
        );
      const views = await s.settle(SETTLE_MS);
      phase('settled');
      const r = await s.check(views);
      phase('checked');
      const clearingOk = r.sandboxPaid - r.inFlightPaid === r.providerClearing;
      rows.push({
        scenario: scenario.name,
        payouts: r.payouts,
        paid: r.paid,
        failed: r.failed,
        pending: r.pending,
        wedged: r.wedged.length,
        doubled: r.doubled.length,
        ledger: r.ledgerVerify.code === 0 ? 'OK' : `exit ${r.ledgerVerify.code}`,
        clearing: clearingOk ? 'OK' : `${r.sandboxPaid - r.inFlightPaid}≠${r.providerClearing}`,
        ...recoveryCells(faultEnd, recovered),
      });

      if (r.wedged.length > 0) {
        // What the processes said last, for the report of a product bug.
        process.stderr.write(
          `[${scenario.name}] wedged payouts; worker log tail:\n${s.logs('worker').slice(-3000)}\napi log tail:\n${s.logs('api').slice(-2000)}\n`,
        );
      }
      expect(r.wedged).toEqual([]);
      expect(r.doubled).toEqual([]);
      if (r.ledgerVerify.code !== 0) throw new Error(`ledger:verify failed:\n${r.ledgerVerify.output}`);
      expect({ sandboxPaidSettled: r.sandboxPaid - r.inFlightPaid }).toEqual({
        sandboxPaidSettled: r.providerClearing,
      });
      if (faultEnd !== undefined && recovered?.paid === undefined) {
        throw new Error(
          `${scenario.name}: no recovery within ${RECOVERY_BOUND_MS / 1000} s (readyz 200 + a payout accepted and paid)\n` +
            `api:\n${s.logs('api').slice(-3000)}\nworker:\n${s.logs('worker').slice(-3000)}`,
        );
      }
    } finally {
      await s.close();
    }
  });
});
