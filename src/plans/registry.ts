// Plans are JSON files (config/plans/*.json), one version per file, validated when loaded: a bad file
// stops startup with every problem listed instead of surfacing mid-period.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Plan, PlanInvalid, parsePlan } from './plan.ts';

export class PlanNotFound extends Error {
  readonly code = 'plan_not_found';
  constructor(version: string, known: readonly string[]) {
    super(
      `Compensation plan version "${version}" is not loaded; known versions: ${known.join(', ') || '(none)'}`,
    );
    this.name = 'PlanNotFound';
  }
}

export class PlanRegistry {
  readonly #plans = new Map<string, Plan>();

  constructor(plans: readonly Plan[]) {
    for (const p of plans) {
      if (this.#plans.has(p.version)) throw new PlanInvalid(p.version, ['version is defined twice']);
      this.#plans.set(p.version, p);
    }
  }

  get(version: string): Plan {
    const plan = this.#plans.get(version);
    if (!plan) throw new PlanNotFound(version, this.versions());
    return plan;
  }

  has(version: string): boolean {
    return this.#plans.has(version);
  }

  versions(): string[] {
    return [...this.#plans.keys()].sort();
  }
}

/** Reads and validates every `*.json` in `dir`. */
export function loadPlans(dir: string): PlanRegistry {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return new PlanRegistry(
    files.map((f) => {
      const path = join(dir, f);
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(path, 'utf8'));
      } catch (err) {
        throw new PlanInvalid(path, [`not valid JSON: ${(err as Error).message}`]);
      }
      return parsePlan(json, path);
    }),
  );
}
