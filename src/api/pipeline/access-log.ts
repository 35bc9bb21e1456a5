// One log line and one duration sample per request, whatever became of it.
import type { Logger } from '../../observability/log.ts';
import { httpDuration } from '../../observability/metrics.ts';
import type { Step } from './exchange.ts';

export function accessLog(log: Logger): Step {
  return async (x, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const fields = {
        requestId: x.requestId,
        method: x.req.method,
        route: x.route.path,
        path: x.req.path,
        status: x.status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        ...(x.principal ? { actor: x.principal.actor, role: x.principal.role } : {}),
        ...x.logFields,
      };
      if (x.status >= 500) log.error('request failed', fields);
      else log.info('request', fields);
      httpDuration.observe(
        { method: x.req.method, route: x.route.path, status: String(x.status) },
        (performance.now() - started) / 1000,
      );
    }
  };
}
