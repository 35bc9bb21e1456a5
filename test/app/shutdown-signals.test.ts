// onShutdown's contract, on a small real process: steps in order, a failed step does not skip the
// others, a second signal exits at once, and the deadline ends a stuck stop.
import { spawn } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { node, repo } from './app-process.ts';

function start(mode: string, env: Record<string, string> = {}) {
  const child = spawn(node, [`${repo}/test/app/fixtures/shutdown-steps.ts`, mode], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const waiters: Array<[RegExp, () => void]> = [];
  child.stdout.on('data', (d) => {
    out += d;
    for (const [re, done] of waiters) if (re.test(out)) done();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const until = (re: RegExp) =>
    new Promise<void>((done) => (re.test(out) ? done() : waiters.push([re, done])));
  return { child, exited, until, output: () => out };
}

describe('onShutdown', () => {
  it('runs the steps in order once and exits 0', async () => {
    const p = start('ok');
    await p.until(/ready/);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.output().match(/^step \w+/gm)).toEqual(['step first', 'step second', 'step third']);
    expect(p.output()).toMatch(/"msg":"shutdown.done".*"ok":true/);
  });

  it('runs the later steps after one fails, and exits 1', async () => {
    const p = start('fail');
    await p.until(/ready/);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(1);
    expect(p.output().match(/^step \w+/gm)).toEqual(['step first', 'step second', 'step third']);
    expect(p.output()).toMatch(/"msg":"shutdown.step_failed".*first step broke/);
  });

  it('exits at once on a second signal while a step hangs', async () => {
    const p = start('hang');
    await p.until(/ready/);
    p.child.kill('SIGTERM');
    await p.until(/step second/);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/"msg":"shutdown.forced"/);
    expect(p.output()).not.toMatch(/step third/);
  });

  it('gives up on a stuck stop at the deadline', async () => {
    const p = start('hang', { DEADLINE_MS: '200' });
    await p.until(/ready/);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(1);
    expect(p.output()).toMatch(/"msg":"shutdown.deadline".*"step":"second"/);
  });
});
