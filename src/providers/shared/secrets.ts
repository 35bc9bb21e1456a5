// Provider credentials (API keys, webhook signing secrets) read from the environment: `NAME` holds the value,
// or `NAME_FILE` a path to a file holding it (Docker/Kubernetes secrets). The value is wrapped so it never
// reaches a log line, a JSON dump of the configuration or a workflow payload by accident.
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

export class Secret {
  readonly #value: string;
  /** Where it came from (variable or file variable), for error messages; never the value. */
  readonly source: string;
  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }
  /** The clear value: only at the point of use (an SDK constructor, an HMAC key). */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return `[secret from ${this.source}]`;
  }
  toJSON(): string {
    return this.toString();
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads `variable` (or the file named by `variable_FILE`). Throws naming the variable — never the value —
 * when both or neither is set, the file is unreadable or empty, or `check` refuses the value.
 */
export function readSecret(
  env: Env,
  variable: string,
  what: string,
  check?: (value: string) => string | undefined,
): Secret {
  const direct = env[variable];
  const filePath = env[`${variable}_FILE`];
  if (direct !== undefined && direct !== '' && filePath) {
    throw new Error(`${what}: set ${variable} or ${variable}_FILE, not both`);
  }
  let value: string;
  let source: string;
  if (filePath) {
    try {
      value = readFileSync(filePath, 'utf8').trim();
    } catch (err) {
      throw new Error(
        `${what}: cannot read ${variable}_FILE (${filePath}): ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    source = `${variable}_FILE`;
  } else {
    value = (direct ?? '').trim();
    source = variable;
  }
  if (!value) throw new Error(`${what}: missing credential, set ${variable} (or ${variable}_FILE)`);
  const problem = check?.(value);
  if (problem) throw new Error(`${what}: ${source} ${problem}`);
  return new Secret(value, source);
}

/** Upper-cased environment prefix of a provider instance name: `stripe-eu` → `STRIPE_EU`. */
export function envPrefix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}
