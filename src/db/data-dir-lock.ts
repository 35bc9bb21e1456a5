// Exclusive ownership of an embedded PGlite data directory. Two PGlite instances on one directory each
// keep their own buffers and WAL position, and whichever closes last overwrites the other's writes: a
// `ledger:verify` run next to `npm start` silently lost minutes of data. So one process holds
// `<dataDir>/disburse.lock` (pid + the wire endpoint it serves the directory on) and every other process
// connects through that endpoint instead of opening the files.
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const lockFileName = 'disburse.lock';

/** What the lock file says about the process holding the directory. */
export interface LockHolder {
  pid: number;
  /** postgres:// URL of its wire endpoint; null while it is still opening the directory. */
  url: string | null;
  /** Its command line, so the error can say what to stop. */
  command: string;
  startedAt: string;
  /** Kernel start time of the pid (Linux), so a reused pid is not mistaken for the holder. */
  procStart: string | null;
  token: string;
}

export interface DataDirLock {
  readonly path: string;
  /** Records the endpoint the directory is served on, for the processes that find the lock. */
  publish(url: string): Promise<void>;
  release(): Promise<void>;
}

export type AcquireResult = { ok: true; lock: DataDirLock } | { ok: false; holder: LockHolder };

/** Locks held by this process, released synchronously if it exits without closing its database. */
const held = new Map<string, string>();
let exitHookInstalled = false;

export function lockPathOf(dataDir: string): string {
  return join(resolve(dataDir), lockFileName);
}

/**
 * Takes the lock on `dataDir` (which must exist), or reports the live process holding it. A lock left by
 * a dead process (or by an earlier process with this pid, as after a container restart) is taken over.
 */
export async function acquireDataDirLock(dataDir: string): Promise<AcquireResult> {
  const path = lockPathOf(dataDir);
  const token = randomBytes(12).toString('hex');
  const content: LockHolder = {
    pid: process.pid,
    url: null,
    command: ['node', ...process.argv.slice(1).map((a) => a.replace(`${process.cwd()}/`, ''))].join(' '),
    startedAt: new Date().toISOString(),
    procStart: procStartOf(process.pid),
    token,
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    if (await createExclusive(path, JSON.stringify(content))) {
      held.set(path, token);
      installExitHook();
      return { ok: true, lock: heldLock(path, content) };
    }
    const raw = await readRaw(path);
    if (raw === null) continue; // released between our attempt and the read
    const holder = parseHolder(raw);
    if (holder && isAlive(holder)) return { ok: false, holder };
    await removeStale(path, raw);
  }
  throw new Error(`Could not take the lock ${path}: it keeps changing (another process is starting?)`);
}

/** The holder named by the lock file, when a live process holds it. */
export async function readHolder(path: string): Promise<LockHolder | null> {
  const raw = await readRaw(path);
  const holder = raw === null ? null : parseHolder(raw);
  return holder && isAlive(holder) ? holder : null;
}

function heldLock(path: string, content: LockHolder): DataDirLock {
  return {
    path,
    async publish(url) {
      // Written beside and renamed over the lock: a reader sees the old or the new content, whole.
      const tmp = `${path}.${content.token}.tmp`;
      await writeFile(tmp, JSON.stringify({ ...content, url }), { mode: 0o600 });
      await rename(tmp, path);
    },
    async release() {
      if (held.get(path) !== content.token) return;
      held.delete(path);
      const raw = await readRaw(path);
      if (raw !== null && parseHolder(raw)?.token === content.token) await unlink(path).catch(() => {});
    },
  };
}

/** Creates `path` with `content` only if it does not exist; the file is complete when it appears. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  try {
    await link(tmp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/**
 * Removes a stale lock, unless it changed since it was read: two processes that both saw the same dead
 * holder must not both take over (the second would delete the first's fresh lock). A short-lived
 * `.takeover` file serialises the check-and-remove.
 */
async function removeStale(path: string, staleRaw: string): Promise<void> {
  const mutex = `${path}.takeover`;
  const handle = await open(mutex, 'wx').catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
    // Left by a process that died inside the few milliseconds it holds it.
    const age = await stat(mutex).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > 10_000) await unlink(mutex).catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    return null;
  });
  if (!handle) return;
  try {
    if ((await readRaw(path)) === staleRaw) await unlink(path).catch(() => {});
  } finally {
    await handle.close();
    await unlink(mutex).catch(() => {});
  }
}

async function readRaw(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function parseHolder(raw: string): LockHolder | null {
  try {
    const v = JSON.parse(raw) as Partial<LockHolder>;
    if (!Number.isInteger(v.pid) || typeof v.token !== 'string') return null;
    return {
      pid: v.pid as number,
      url: typeof v.url === 'string' ? v.url : null,
      command: typeof v.command === 'string' ? v.command : '',
      startedAt: typeof v.startedAt === 'string' ? v.startedAt : '',
      procStart: typeof v.procStart === 'string' ? v.procStart : null,
      token: v.token,
    };
  } catch {
    return null; // not written by us (always whole JSON): nobody can be found to own it
  }
}

function isAlive(holder: LockHolder): boolean {
  // Our own pid: a lock this process holds, or one left by an earlier process with the same pid.
  if (holder.pid === process.pid) return [...held.values()].includes(holder.token);
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = procStartOf(holder.pid);
  return !(holder.procStart && now && now !== holder.procStart);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); null off Linux. */
function procStartOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [path, token] of held) {
      try {
        if (parseHolder(readFileSync(path, 'utf8'))?.token === token) unlinkSync(path);
      } catch {
        // already gone
      }
    }
    held.clear();
  });
}
