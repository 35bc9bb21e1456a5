import { z } from 'zod';

/**
 * One slice of the configuration: the environment variables it reads (a zod object keyed by variable
 * name, each field `.describe()`d with the expected form) and how they map to typed settings.
 */
export interface ConfigSection<K extends string, T> {
  readonly key: K;
  /** The variables' schema: the single source for deploy/env.example and the compose check. */
  readonly variables: z.ZodObject;
  parse(
    env: Readonly<Record<string, string | undefined>>,
  ): { ok: true; value: T } | { ok: false; problems: string[] };
}

/** The typed settings a section produces. */
export type SectionValue<S> = S extends ConfigSection<string, infer T> ? T : never;

/** Raised once, listing every bad variable with the form that was expected. */
export class ConfigError extends Error {
  readonly code = 'config_invalid';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function defineConfigSection<K extends string, S extends z.ZodObject, T>(
  key: K,
  variables: S,
  map: (vars: z.output<S>) => T,
): ConfigSection<K, T> {
  return {
    key,
    variables,
    parse(env) {
      // Empty strings count as unset, so `FOO= npm start` falls back to the default.
      const input: Record<string, string | undefined> = {};
      for (const name of Object.keys(variables.shape)) {
        const value = env[name];
        input[name] = value === '' ? undefined : value;
      }
      const result = variables.safeParse(input);
      if (result.success) return { ok: true, value: map(result.data) };
      return {
        ok: false,
        problems: result.error.issues.map((issue) => {
          const name = String(issue.path[0] ?? '?');
          const field = variables.shape[name] as z.ZodType | undefined;
          const expected = field?.description ? ` (expected ${field.description})` : '';
          return `${name}: ${issue.message}${expected}`;
        }),
      };
    },
  };
}

/** Integer environment variable with bounds, e.g. `intVar(1, 100, 10)`. */
export function intVar(min: number, max: number, fallback: number) {
  return z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((v) => v ?? fallback);
}
