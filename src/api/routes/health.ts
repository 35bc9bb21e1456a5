// Liveness and readiness probes (public, no auth).
import { z } from 'zod';
import type { Logger } from '../../observability/log.ts';
import type { ReadinessCheck } from '../app.ts';
import { defineRoute, type Route } from '../route.ts';

const CHECK_TIMEOUT_MS = 3000;

const healthBody = z
  .object({ status: z.literal('ok').describe('Always ok while the process serves requests') })
  .meta({ id: 'Health', description: 'Liveness' });

const readinessBody = z
  .object({
    status: z.enum(['ready', 'not_ready']).describe('ready when every check passed'),
    checks: z
      .array(
        z
          .object({
            name: z.string().describe('Dependency checked, e.g. database or temporal'),
            ok: z.boolean().describe('Whether the dependency answered'),
            durationMs: z.number().describe('How long the check took'),
            error: z.string().optional().describe('Why the check failed'),
          })
          .describe('One readiness check'),
      )
      .describe('Result of each dependency check'),
  })
  .meta({ id: 'Readiness', description: 'Readiness of the dependencies' });

async function runCheck(c: ReadinessCheck) {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { name: c.name, ok: true, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { name: c.name, ok: false, durationMs: Math.round(performance.now() - started), error: message };
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(checks: readonly ReadinessCheck[], log: Logger): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process is up',
      tags: ['meta'],
      roles: [],
      responses: { 200: { description: 'Process is up', schema: healthBody } },
      handler: async () => ({ status: 200, body: { status: 'ok' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: database (and other dependencies) reachable',
      tags: ['meta'],
      roles: [],
      responses: {
        200: { description: 'Every dependency is reachable', schema: readinessBody },
        503: { description: 'A dependency is not reachable', schema: readinessBody },
      },
      handler: async () => {
        const results = await Promise.all(checks.map(runCheck));
        const ready = results.every((r) => r.ok);
        if (!ready) log.warn('not ready', { checks: results.filter((r) => !r.ok) });
        return {
          status: ready ? 200 : 503,
          body: { status: ready ? 'ready' : 'not_ready', checks: results },
        };
      },
    }),
  ];
}
