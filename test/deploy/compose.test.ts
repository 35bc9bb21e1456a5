// docker-compose.yml checked without a Docker engine: parsed as YAML and held against the config module
// (src/config is the single source of every variable), the metrics the dashboard plots, and the lock file.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { parse } from 'yaml';
import {
  COMPOSE_SET_VARIABLES,
  configVariables,
  PRODUCTION_REQUIRED_VARIABLES,
  renderEnvExample,
} from '../../src/config/env-example.ts';
import { registry } from '../../src/observability/metrics.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string | number>;
  env_file?: (string | { path: string; required?: boolean })[];
  healthcheck?: { test: string[] };
  restart?: string;
  command?: string[];
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const tls = parse(read('deploy/tls/docker-compose.tls.yml'), { merge: true }) as {
  services: Record<string, Service>;
};
const DISBURSE_SERVICES = ['migrate', 'api', 'worker'];
const known = new Set(configVariables().map((v) => v.name));

/** `NAME=` and `# NAME=` lines of deploy/env.example: the variables it documents. */
function exampleVariables(text: string): { set: Set<string>; all: Set<string> } {
  const set = new Set<string>();
  const all = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^(# )?([A-Z][A-Z0-9_]*)=/.exec(line);
    if (!m) continue;
    all.add(m[2]!);
    if (!m[1]) set.add(m[2]!);
  }
  return { set, all };
}

describe('docker-compose.yml', () => {
  test('deploy/env.example is what src/config generates', () => {
    // Regenerate with: node src/config/env-example-cli.ts > deploy/env.example
    expect(read('deploy/env.example')).toBe(renderEnvExample());
  });

  test('env.example documents every config variable and only variables someone reads', () => {
    const { all } = exampleVariables(read('deploy/env.example'));
    const composeText = read('docker-compose.yml');
    const composeSet = new Set<string>(COMPOSE_SET_VARIABLES);
    for (const name of known) {
      if (!composeSet.has(name))
        expect({ name, documented: all.has(name) }).toEqual({ name, documented: true });
    }
    for (const name of all) {
      const readBy = known.has(name) || composeText.includes(`\${${name}:`);
      expect({ name, readBy }).toEqual({ name, readBy: true });
    }
  });

  test('Disburse services take .env whole and set only variables src/config knows', () => {
    for (const name of DISBURSE_SERVICES) {
      const svc = compose.services[name]!;
      // A compose interpolation, not a JavaScript one.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text of docker-compose.yml
      expect(svc.env_file).toEqual([{ path: '${DISBURSE_ENV_FILE:-.env}', required: true }]);
      for (const v of Object.keys(svc.environment ?? {})) {
        expect({ service: name, v, known: known.has(v) }).toEqual({ service: name, v, known: true });
      }
    }
    for (const v of COMPOSE_SET_VARIABLES) expect(known.has(v)).toBe(true);
  });

  test('every variable required in production is set by compose or filled in from env.example', () => {
    const { set } = exampleVariables(read('deploy/env.example'));
    for (const name of ['api', 'worker']) {
      const env = compose.services[name]!.environment ?? {};
      for (const v of PRODUCTION_REQUIRED_VARIABLES) {
        const provided = v in env || set.has(v);
        expect({ service: name, v, provided }).toEqual({ service: name, v, provided: true });
      }
    }
    // The secrets are refused, not defaulted, when .env lacks them.
    const env = compose.services.api!.environment!;
    expect(String(env.DATABASE_URL)).toContain('${DISBURSE_DB_PASSWORD:?');
  });

  test('every image is pinned to a version', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build) continue; // Disburse's own image, built from this tree
      expect({ name, image: svc.image }).toEqual({
        name,
        image: expect.stringMatching(/^[\w./-]+:v?\d+\.\d+(\.\d+)?$/),
      });
    }
    const from = [...read('Dockerfile').matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    for (const image of from) expect(image).toMatch(/^node:\d+\.\d+\.\d+-slim/);
  });

  test('long-running services have healthchecks; the API and the worker probe /readyz', () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      const oneShot = svc.restart?.startsWith('on-failure');
      if (oneShot) continue;
      expect({ name, healthcheck: Array.isArray(svc.healthcheck?.test) }).toEqual({
        name,
        healthcheck: true,
      });
    }
    const api = compose.services.api!;
    const worker = compose.services.worker!;
    expect(api.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${api.environment!.API_PORT}/readyz`);
    expect(worker.healthcheck!.test.join(' ')).toContain(
      `127.0.0.1:${worker.environment!.WORKER_METRICS_PORT}/readyz`,
    );
    expect(worker.environment!.WORKER_METRICS_HOST).toBe('0.0.0.0');
  });

  test('the observability profile scrapes the API and every worker replica', () => {
    const profiled = Object.entries(compose.services).filter(([, s]) =>
      s.profiles?.includes('observability'),
    );
    expect(profiled.map(([n]) => n).sort()).toEqual(['grafana', 'prometheus']);
    const prom = parse(read('deploy/observability/prometheus.yml')) as {
      scrape_configs: {
        job_name: string;
        metrics_path: string;
        dns_sd_configs: { names: string[]; port: number }[];
      }[];
    };
    const targets = prom.scrape_configs.map((c) => ({
      name: c.dns_sd_configs[0]!.names[0],
      port: c.dns_sd_configs[0]!.port,
      path: c.metrics_path,
    }));
    expect(targets).toEqual([
      { name: 'api', port: Number(compose.services.api!.environment!.API_PORT), path: '/metrics' },
      {
        name: 'worker',
        port: Number(compose.services.worker!.environment!.WORKER_METRICS_PORT),
        path: '/metrics',
      },
    ]);
  });

  test('every metric the Grafana dashboard plots is one Disburse exports', async () => {
    const dashboard = JSON.parse(read('deploy/observability/grafana/dashboards/disburse.json')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exported = new Set<string>();
    for (const m of await registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram')
        for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
    }
    const used = new Set(
      dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\bdisburse_[a-z_]+/g) ?? [])),
    );
    expect(used.size).toBeGreaterThan(8);
    for (const name of used) expect({ name, exported: exported.has(name) }).toEqual({ name, exported: true });
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const topic of ['Payouts requested / s', 'Outcomes', 'queue', 'Provider errors', 'outbox lag']) {
      expect(titles).toContain(topic);
    }
  });

  test('the TLS override mounts certificates and sets Temporal TLS variables the clients read', () => {
    for (const name of ['api', 'worker']) {
      const svc = tls.services[name]!;
      expect(JSON.stringify(svc)).toContain('./deploy/tls/certs:/etc/disburse/tls:ro');
      const vars = Object.keys(svc.environment ?? {});
      expect(vars.length).toBeGreaterThan(0);
      for (const v of vars) {
        const readBy = known.has(v);
        expect({ v, readBy }).toEqual({ v, readBy: true });
      }
    }
    expect(tls.services.temporal!.environment!.TEMPORAL_TLS_REQUIRE_CLIENT_AUTH).toBe('true');
    for (const name of Object.keys(tls.services)) expect(Object.keys(compose.services)).toContain(name);
  });

  test('the image installs production dependencies from the lock file alone', () => {
    expect(read('Dockerfile')).toMatch(/RUN npm ci --omit=dev --ignore-scripts/);
    // The same command the Dockerfile runs, as a dry run: fails if package.json and the lock disagree.
    const out = execFileSync(
      'npm',
      ['ci', '--omit=dev', '--ignore-scripts', '--dry-run', '--no-audit', '--no-fund'],
      {
        cwd: new URL('.', root),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    expect(out).not.toMatch(/npm error/);
  });
});
