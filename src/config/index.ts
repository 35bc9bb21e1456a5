import { apiSection } from './api.ts';
import { databaseSection } from './database.ts';
import { observabilitySection } from './observability.ts';
import { payoutsSection } from './payouts.ts';
import { periodsSection } from './periods.ts';
import { ConfigError, type ConfigSection, type SectionValue } from './section.ts';
import { securitySection } from './security.ts';
import { spendbackSection } from './spendback.ts';
import { temporalSection } from './temporal.ts';
import { workerSection } from './worker.ts';

export type { ApiConfig } from './api.ts';
export type { DatabaseConfig } from './database.ts';
export type { PayoutsConfig } from './payouts.ts';
export type { PeriodsConfig } from './periods.ts';
export type { ConfigSection, SectionValue } from './section.ts';
export { ConfigError, defineConfigSection, intVar } from './section.ts';
export type { SecurityConfig } from './security.ts';
export type { SpendbackConfig } from './spendback.ts';
export type { TemporalConfig } from './temporal.ts';
export type { WorkerConfig, WorkerTuningOverrides } from './worker.ts';

/**
 * Every configuration section. To add one: write `src/config/<area>.ts` exporting
 * `defineConfigSection('<area>', z.object({ MY_VAR: ... }), map)` and append it here.
 */
const sections = [
  databaseSection,
  apiSection,
  securitySection,
  temporalSection,
  payoutsSection,
  periodsSection,
  spendbackSection,
  observabilitySection,
  workerSection,
] as const;

/** Every section, in order (deploy/env.example is generated from their variables). */
export const configSections: readonly ConfigSection<string, unknown>[] = sections;

type SectionKey<S> = S extends ConfigSection<infer K, unknown> ? K : never;

export type Config = {
  readonly [S in (typeof sections)[number] as SectionKey<S>]: Readonly<SectionValue<S>>;
};

/**
 * Parses and validates the environment once. The only place in the codebase that reads `process.env`;
 * everything else receives a `Config` (or the slice it needs). Throws `ConfigError` naming every bad
 * variable and the form it should take.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const section of sections) {
    const result = section.parse(env);
    if (result.ok) out[section.key] = Object.freeze(result.value);
    else problems.push(...result.problems);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as Config;
}
