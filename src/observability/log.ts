// Structured JSON logs (one object per line), the one logger of API, worker, activities and the Temporal
// SDK (src/observability/sdk-logger.ts). Anything that looks like a secret or bank data is redacted by key
// name, and whole subtrees by path (payloads in the SDK's debug lines), before it is written, so a
// careless `log.info({ body })` cannot leak a destination. Byte arrays are written as their length.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const SENSITIVE_KEY =
  /(authorization|api[-_]?key|secret|password|token|totp|code$|account[-_]?number|routing|iban|tin|card|wallet[-_]?id|address|ciphertext|destination)/i;

/**
 * Paths (dot-separated, `*` any one key or index) whose value is replaced whole: workflow and activity
 * payloads and headers in the SDK's debug lines (encoded inputs and results).
 */
export const REDACTED_PATHS = [
  'jobs.*.*.arguments',
  'jobs.*.*.input',
  'jobs.*.*.result',
  'jobs.*.*.headers',
  'start.input',
  'start.headerFields',
];

const splitPaths = (paths: readonly string[]) => paths.map((p) => p.split('.'));
const defaultPaths = splitPaths(REDACTED_PATHS);

function pathMatches(paths: string[][], at: string[]): boolean {
  return paths.some((p) => p.length === at.length && p.every((seg, i) => seg === '*' || seg === at[i]));
}

export function redact(value: unknown, depth = 0, at: string[] = [], paths = defaultPaths): unknown {
  if (depth > 6) return '[depth]';
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) return value.map((v, i) => redact(v, depth + 1, [...at, String(i)], paths));
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const path = [...at, k];
      out[k] =
        v !== null && v !== undefined && (SENSITIVE_KEY.test(k) || pathMatches(paths, path))
          ? '[redacted]'
          : redact(v, depth + 1, path, paths);
    }
    return out;
  }
  return value;
}

export function createLogger(
  opts: { level?: LogLevel; write?: (line: string) => void; base?: Record<string, unknown> } = {},
): Logger {
  const min = order[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const base = opts.base ?? {};
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const entry = {
      at: new Date().toISOString(),
      level,
      msg,
      ...base,
      ...(fields ? (redact(fields) as object) : {}),
    };
    write(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...opts, base: { ...base, ...(redact(fields) as object) } }),
  };
}
