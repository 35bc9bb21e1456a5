// One owner per embedded data directory: a second direct open fails naming the owner, other processes
// reach the database through the owner's endpoint, and a lock left by a dead process is taken over.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { lockPathOf } from '../../src/db/data-dir-lock.ts';
import { connectEmbeddedDatabase, DataDirInUseError, startEmbeddedDatabase } from '../../src/db/embedded.ts';
import { openDatabase } from '../../src/db/open.ts';
import { sql } from '../../src/db/sql.ts';
import { node, repo } from '../app/app-process.ts';

const root = await mkdtemp(join(tmpdir(), 'disburse-lock-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

/** Another process that opens `dataDir` and holds it until its stdin closes. */
async function holdInChild(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const script = `
    const { startEmbeddedDatabase } = await import(${JSON.stringify(`${repo}/src/db/embedded.ts`)});
    const db = await startEmbeddedDatabase({ dataDir: ${JSON.stringify(dataDir)} });
    console.log('ready ' + db.url);
    process.stdin.on('end', async () => { await db.stop(); process.exit(0); }).resume();`;
  const child = spawn(node, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /ready (\S+)/.exec(out);
      if (m) done(m[1]!);
    });
    child.once('exit', (code) => fail(new Error(`holder exited ${code}: ${out}`)));
  });
  return { child, url };
}

async function query(url: string, text: string, values: unknown[] = []) {
  const db = await openDatabase({ url, poolMax: 1 });
  try {
    return await sql(db.em(), text, values);
  } finally {
    await db.close();
  }
}

describe('embedded data directory lock', () => {
  it('refuses a second direct open naming the process that has it, and serves it to the others', async () => {
    const dataDir = join(root, 'held');
    const holder = await holdInChild(dataDir);

    const direct = startEmbeddedDatabase({ dataDir });
    await expect(direct).rejects.toThrow(DataDirInUseError);
    await expect(direct).rejects.toThrow(
      new RegExp(
        `in use by process ${holder.child.pid} .*serves it at ${holder.url}.*stop process ${holder.child.pid}`,
      ),
    );

    // Anything else that needs it goes through the owner's endpoint, so its writes are the owner's.
    const shared = await connectEmbeddedDatabase({ dataDir });
    expect(shared.url).toBe(holder.url);
    expect(shared.servedBy).toBe(holder.child.pid);
    await query(shared.url, 'CREATE TABLE kept (v int)');
    await query(shared.url, 'INSERT INTO kept VALUES ($1)', [42]);
    await shared.stop(); // a served database stays up
    expect(await query(holder.url, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);

    holder.child.stdin!.end();
    await new Promise((r) => holder.child.once('exit', r));

    // Nobody has it now: the next process opens it itself, and finds what was written through the owner.
    const own = await connectEmbeddedDatabase({ dataDir });
    try {
      expect(own.servedBy).toBeUndefined();
      expect(await query(own.url, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);
      const lock = JSON.parse(await readFile(lockPathOf(dataDir), 'utf8'));
      expect(lock).toMatchObject({ pid: process.pid, url: own.url });
      // Twice in one process is refused too.
      await expect(startEmbeddedDatabase({ dataDir })).rejects.toThrow(`in use by process ${process.pid}`);
    } finally {
      await own.stop();
    }
    await expect(readFile(lockPathOf(dataDir), 'utf8')).rejects.toThrow(/ENOENT/);
  }, 120_000);

  it('takes over a lock left by a process that died', async () => {
    const dataDir = join(root, 'stale');
    const first = await startEmbeddedDatabase({ dataDir });
    await first.stop();
    // A pid that existed and is gone now.
    const dead = spawnSync(node, ['-e', '0']).pid;
    const stale = { pid: dead, url: 'postgres://postgres@127.0.0.1:1/postgres', command: 'x', token: 'old' };
    await writeFile(lockPathOf(dataDir), JSON.stringify(stale));

    const db = await startEmbeddedDatabase({ dataDir });
    try {
      const lock = JSON.parse(await readFile(lockPathOf(dataDir), 'utf8'));
      expect(lock.pid).toBe(process.pid);
      expect(lock.url).toBe(db.url);
      expect(await query(db.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await db.stop();
    }
  }, 120_000);
});
