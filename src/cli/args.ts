// Command-line parsing shared by every CLI (npm run migrate, ledger:verify, auth:create-key, the benches…).
// `--help` / `-h` prints the usage on stdout and exits 0 before the command does anything (no database, no
// migration); an unknown flag or a bad value prints the reason and the usage on stderr and exits 2.
// Each CLI calls parseCli first, at the top of the module, so nothing runs before the arguments are known.
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

export interface CliSpec<O extends ParseArgsOptionsConfig> {
  /** The whole help text: usage line, what the command does, its options and the environment it reads. */
  usage: string;
  /** Flags besides --help / -h (added here). */
  options: O;
  /** Whether positional arguments are accepted (default: no). */
  positionals?: boolean;
}

type Parsed<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>
>;

/** What a command line asks for, without side effects (parseCli acts on it). */
export type CommandLine<O extends ParseArgsOptionsConfig> =
  | { kind: 'help' }
  | { kind: 'error'; message: string }
  | { kind: 'run'; values: Parsed<O>['values']; positionals: string[] };

export function readCommandLine<O extends ParseArgsOptionsConfig>(
  spec: CliSpec<O>,
  argv: string[],
): CommandLine<O> {
  // --help wins over anything else on the line, even an unknown flag: asking for help never fails.
  const tokens = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length);
  if (tokens.some((a) => a === '--help' || a === '-h')) return { kind: 'help' };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: spec.options,
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0 && !spec.positionals) {
      return { kind: 'error', message: `unexpected argument ${positionals[0]}` };
    }
    return { kind: 'run', values, positionals };
  } catch (error) {
    // node:util throws TypeError with code ERR_PARSE_ARGS_*; its first sentence names the flag (the rest
    // explains `--` for positionals, which no CLI here takes).
    const message = String((error as { message?: unknown })?.message ?? error);
    return { kind: 'error', message: message.replace(/\. To specify a positional argument.*$/s, '') };
  }
}

export interface Cli<O extends ParseArgsOptionsConfig> {
  values: Parsed<O>['values'];
  positionals: string[];
  /** Reports a bad value: message and usage on stderr, exit 2. */
  fail(message: string): never;
  /** A string flag read as an integer in [min, max]; anything else fails with the flag's name. */
  integer(name: keyof O & string, range?: { min?: number; max?: number }): number;
  /** A string flag read as a number in [min, max] (decimals allowed). */
  number(name: keyof O & string, range?: { min?: number; max?: number }): number;
}

/** Parses process.argv (or `argv`); exits 0 after printing help, 2 on a bad command line. */
export function parseCli<const O extends ParseArgsOptionsConfig>(
  spec: CliSpec<O>,
  argv: string[] = process.argv.slice(2),
): Cli<O> {
  const fail = (message: string): never => {
    process.stderr.write(`error: ${message}\n\n${spec.usage.trimEnd()}\n`);
    process.exit(2);
  };
  const line = readCommandLine(spec, argv);
  if (line.kind === 'help') {
    process.stdout.write(`${spec.usage.trimEnd()}\n`);
    process.exit(0);
  }
  if (line.kind === 'error') return fail(line.message);
  const { values, positionals } = line;
  const numeric = (name: string, integer: boolean, range: { min?: number; max?: number }) => {
    const raw = (values as Record<string, unknown>)[name];
    const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY } = range;
    // Number('') is 0 and Number('1e3') is 1000: only plain decimal notation is accepted.
    const n = typeof raw === 'string' && /^-?\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw) : Number.NaN;
    if (Number.isNaN(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
      const kind = integer ? 'an integer' : 'a number';
      const bounds = [Number.isFinite(min) && `>= ${min}`, Number.isFinite(max) && `<= ${max}`]
        .filter(Boolean)
        .join(' and ');
      return fail(`--${name} must be ${kind}${bounds ? ` ${bounds}` : ''} (got ${JSON.stringify(raw)})`);
    }
    return n;
  };
  return {
    values,
    positionals,
    fail,
    integer: (name, range = {}) => numeric(name, true, range),
    number: (name, range = {}) => numeric(name, false, range),
  };
}
