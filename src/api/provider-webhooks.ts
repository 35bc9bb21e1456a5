// Inbound provider webhooks. Mounted before the JSON API because the signature covers the raw bytes:
// the body is verified by the provider adapter before anything is parsed or signalled.
import express, { type Request, type Response, Router } from 'express';
import type { PayoutGateway } from '../payouts/gateway.ts';
import { WebhookVerificationError } from '../providers/errors.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import { type ErrorKind, errorKinds, problemType } from './errors.ts';
import type { Logger } from './log.ts';

const PROBLEM_JSON = 'application/problem+json';

function problem(res: Response, req: Request, kind: ErrorKind, detail: string) {
  const def = errorKinds[kind];
  res
    .status(def.status)
    .type(PROBLEM_JSON)
    .send(
      JSON.stringify({
        type: problemType(kind),
        title: def.title,
        status: def.status,
        detail,
        instance: req.originalUrl,
      }),
    );
}

export function providerWebhookRouter(deps: {
  providers: ProviderRegistry;
  gateway: PayoutGateway;
  log: Logger;
  bodyLimitBytes?: number;
}): Router {
  const router = Router();
  router.post(
    '/v1/providers/:name/webhooks',
    express.raw({ type: () => true, limit: deps.bodyLimitBytes ?? 256 * 1024 }),
    async (req: Request, res: Response) => {
      const name = String(req.params.name);
      const provider = deps.providers.get(name);
      if (!provider) return problem(res, req, 'not_found', `provider ${name} is not configured`);
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
      let events: ReturnType<typeof provider.parseWebhook>;
      try {
        events = provider.parseWebhook(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), headers);
      } catch (err) {
        if (err instanceof WebhookVerificationError) {
          deps.log.warn('provider_webhook.rejected', { provider: name, reason: err.message });
          return problem(res, req, 'unauthenticated', `webhook signature rejected: ${err.message}`);
        }
        return problem(
          res,
          req,
          'validation_failed',
          `webhook body not understood: ${(err as Error).message}`,
        );
      }
      const outcomes: { eventId: string; payoutId: string; result: string }[] = [];
      try {
        for (const e of events) {
          const result = await deps.gateway.deliverProviderEvent(e.payoutId, {
            eventId: e.eventId,
            idempotencyKey: e.idempotencyKey,
            type: e.type,
            ...(e.reason ? { reason: e.reason } : {}),
          });
          outcomes.push({ eventId: e.eventId, payoutId: e.payoutId, result });
        }
      } catch (err) {
        // Not acknowledged: the provider retries, and the workflow ignores a repeated event id.
        deps.log.error('provider_webhook.signal_failed', { provider: name, error: String(err) });
        return problem(res, req, 'unavailable', 'could not hand the event to its payout; retry later');
      }
      deps.log.info('provider_webhook.received', { provider: name, events: outcomes.length });
      res.status(200).json({ received: outcomes });
    },
  );
  return router;
}
