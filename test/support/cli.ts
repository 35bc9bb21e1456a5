// Runs a repository CLI as a user would (the pinned Node, a real process) and returns what it printed.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const node = existsSync(`${repo}/node_modules/.bin/node`)
  ? `${repo}/node_modules/.bin/node`
  : process.execPath;

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `script` is a repository path: a .ts file runs under the pinned Node, anything else (bin/temporal-dev)
 * directly. `env` replaces the environment (only PATH and HOME are kept), so no DISBURSE_* or DATABASE_*
 * setting of the test process leaks in.
 */
export function runCli(
  script: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<CliRun> {
  const [file, argv] = script.endsWith('.ts')
    ? [node, [`${repo}/${script}`, ...args]]
    : [`${repo}/${script}`, args];
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env };
  return new Promise((done) => {
    // The kill timeout is a safety net for a CLI that starts serving instead of answering, not a measurement.
    execFile(file, argv, { env, cwd: opts.cwd ?? repo, timeout: 50_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ code, stdout, stderr });
    });
  });
}
