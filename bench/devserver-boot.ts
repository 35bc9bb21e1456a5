// Boot time of bin/temporal-dev, as the SDK sees it: spawn to the port accepting connections, and spawn to
// the first GetSystemInfo answered (the SDK's readiness probe). Its baseline, in the same run and on the
// same load, is a bare `node -e 0` of the same Node from spawn to exit, the floor of any Node server.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';

export interface BootFigures {
  spawns: number;
  /** Spawn to listening, ms, sorted. */
  listening: number[];
  /** Spawn to the first GetSystemInfo answered, ms, sorted. */
  answering: number[];
  /** CPU time of the server's main (JS) thread until listening, ms, sorted: what load does not inflate. */
  cpu: number[];
  /** Same, all its threads (V8 compiles and collects garbage on helper threads too). */
  cpuAllThreads: number[];
  /** Spawn to exit of `node -e 0`, ms, sorted. */
  bareNode: number[];
  /** Same as listening, with Node's compile cache turned off (what every start cost before it). */
  uncached: number[];
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => done(socket.destroy() !== undefined));
    socket.once('error', () => done(false));
  });
}

/** One unary call with an empty request (GetSystemInfoRequest has no required field). */
function getSystemInfo(port: number): Promise<void> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  return new Promise<void>((done, fail) => {
    client.makeUnaryRequest(
      '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      { deadline: Date.now() + 30_000 },
      (err) => (err ? fail(err) : done()),
    );
  }).finally(() => client.close());
}

/** CPU time of a process so far in ms, main thread and all threads (Linux schedstat); NaN elsewhere. */
function cpuMs(pid: number): { main: number; all: number } {
  const onCpu = (task: string) =>
    Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  try {
    let all = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) all += onCpu(task);
    return { main: onCpu(String(pid)), all };
  } catch {
    return { main: Number.NaN, all: Number.NaN };
  }
}

interface Boot {
  listening: number;
  answering: number;
  cpu: { main: number; all: number };
}

async function bootOnce(path: string, env: NodeJS.ProcessEnv): Promise<Boot> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(
    path,
    ['server', 'start-dev', '--port', String(port), '--ip', '127.0.0.1', '--headless'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env,
    },
  );
  const exited = new Promise((done) => child.once('exit', done));
  try {
    const deadline = t0 + 30_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null)
        throw new Error(`${path} exited with code ${child.exitCode} before listening`);
      if (performance.now() > deadline) throw new Error(`${path} did not listen within 30 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    const listening = performance.now() - t0;
    const cpu = cpuMs(child.pid!); // bin/temporal-dev execs node: same pid
    await getSystemInfo(port);
    return { listening, answering: performance.now() - t0, cpu };
  } finally {
    child.kill('SIGKILL'); // as the SDK stops it
    await exited;
  }
}

async function bareNode(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((done) => child.once('exit', done));
  return performance.now() - t0;
}

/** Interleaves the kinds of spawn, so a burst of load elsewhere hits them alike. */
export async function measureBoot(path: string, spawns: number): Promise<BootFigures> {
  const cached = { ...process.env };
  delete cached.NODE_DISABLE_COMPILE_CACHE;
  const uncachedEnv = { ...cached, NODE_DISABLE_COMPILE_CACHE: '1' };
  await bootOnce(path, cached); // fills the caches if this checkout has never started temporal-dev
  const figures: BootFigures = {
    spawns,
    listening: [],
    answering: [],
    cpu: [],
    cpuAllThreads: [],
    bareNode: [],
    uncached: [],
  };
  for (let i = 0; i < spawns; i++) {
    const boot = await bootOnce(path, cached);
    figures.listening.push(boot.listening);
    figures.answering.push(boot.answering);
    figures.cpu.push(boot.cpu.main);
    figures.cpuAllThreads.push(boot.cpu.all);
    figures.uncached.push((await bootOnce(path, uncachedEnv)).listening);
    figures.bareNode.push(await bareNode());
  }
  for (const list of Object.values(figures)) if (Array.isArray(list)) list.sort((a, b) => a - b);
  return figures;
}
