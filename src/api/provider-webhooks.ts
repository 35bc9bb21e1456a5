// Inbound provider webhooks. Served in front of the JSON API because the signature covers the raw bytes: the
// provider adapter verifies the body before anything is parsed or handed to a payout. Errors are the API's
// problem+json (same kinds and helpers), and the body limit is the API's.
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, Router } from 'express';
import { ApiError } from '../http/errors.ts';
import type { Logger } from '../observability/log.ts';
import {
  type DeliverProviderEvent,
  inHandOverOrder,
  type ProviderEventOutcome,
} from '../payouts/late-return.ts';
import { WebhookVerificationError } from '../providers/errors.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import { PROBLEM_JSON, sendProblem } from './pipeline/errors.ts';
import { mapError, mapRequestError, toProblem } from './problem.ts';

export const PROVIDER_WEBHOOK_PATH = '/v1/providers/:name/webhooks';
const PATH = PROVIDER_WEBHOOK_PATH;

export function providerWebhookRouter(deps: {
  providers: ProviderRegistry;
  deliver: DeliverProviderEvent;
  log: Logger;
  bodyLimitBytes: number;
  /** Rate limit in front of every method; in this router so a path it cannot decode still gets problem+json. */
  limit?: (req: Request, res: Response, next: NextFunction) => void;
}): Router {
  const router = Router();
  if (deps.limit) router.all(PATH, deps.limit);
  router.post(
    PATH,
    express.raw({ type: () => true, limit: deps.bodyLimitBytes }),
    async (req: Request, res: Response) => {
      const name = String(req.params.name);
      const provider = deps.providers.get(name);
      if (!provider) throw new ApiError('not_found', `Provider ${name} is not configured`);
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
      let events: Awaited<ReturnType<typeof provider.parseWebhook>>;
      try {
        events = await provider.parseWebhook(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), headers);
      } catch (err) {
        throw refusal(name, err, deps.log);
      }
      const received: { eventId: string; payoutId: string; result: ProviderEventOutcome }[] = [];
      try {
        for (const e of inHandOverOrder(events)) {
          received.push({ eventId: e.eventId, payoutId: e.payoutId, result: await deps.deliver(name, e) });
        }
      } catch (err) {
        // Not acknowledged: the provider retries; a repeated event changes nothing (event id, ledger keys).
        deps.log.error('provider_webhook.delivery_failed', { provider: name, error: String(err) });
        throw new ApiError('unavailable', 'Could not hand the event to its payout; retry later', {
          headers: { 'Retry-After': '5' },
        });
      }
      deps.log.info('provider_webhook.received', { provider: name, events: received.length });
      res.status(200).json({ received });
    },
  );
  // Circle (and other SNS-based senders) probe the endpoint with HEAD before delivering: answer it.
  router.head(PATH, (req: Request, res: Response) => {
    res.status(deps.providers.get(String(req.params.name)) ? 200 : 404).end();
  });
  router.all(PATH, () => {
    throw new ApiError('method_not_allowed', 'Providers POST their events to this path', {
      headers: { Allow: 'POST, HEAD' },
    });
  });
  // Only errors of this router reach here: body over the limit, undecodable path, refusals above.
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const mapped = mapRequestError(error) ?? mapError(error);
    const errorId = randomUUID();
    const problem = toProblem(mapped, req.originalUrl.split('?')[0]!, errorId);
    const fields = { errorId, errorKind: mapped.kind, status: problem.status, method: req.method };
    if (problem.status >= 500) deps.log.error('provider_webhook.failed', { ...fields, error: String(error) });
    else deps.log.info('provider_webhook.refused', fields);
    sendProblem(res, problem, mapped.headers);
  });
  return router;
}

/** What a failed parseWebhook means for the caller: not signed by the provider (401), or not an event (400). */
function refusal(provider: string, err: unknown, log: Logger): ApiError {
  if (!(err instanceof WebhookVerificationError)) {
    return new ApiError('validation_failed', `Webhook body not understood: ${(err as Error).message}`);
  }
  log.warn('provider_webhook.rejected', { provider, code: err.code, reason: err.message });
  if (err.code === 'malformed_body') {
    return new ApiError('validation_failed', `Webhook body not understood: ${err.message}`);
  }
  if (err.code === 'verifier_unavailable') {
    // The provider's own verification service did not answer: not a refusal, the provider should retry.
    return new ApiError('unavailable', `Webhook not verified yet: ${err.message}`, {
      headers: { 'Retry-After': '30' },
    });
  }
  if (err.code === 'not_supported') {
    return new ApiError('not_found', `Provider ${provider} takes no webhooks: ${err.message}`);
  }
  return new ApiError(
    'unauthenticated',
    `Webhook signature rejected: ${err.message}; sign with the webhook secret configured for ${provider}`,
  );
}

const problemResponse = (description: string) => ({
  description,
  content: { [PROBLEM_JSON]: { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** The route in /openapi.json, by hand: the generator describes registry routes, whose bodies are JSON. */
export const providerWebhookOpenApi = {
  '/v1/providers/{name}/webhooks': {
    post: {
      operationId: 'postV1ProvidersNameWebhooks',
      summary: 'Receive a signed event from a payout provider',
      description:
        'Called by payout providers, not by API clients: no API key and no Idempotency-Key (a repeated ' +
        'delivery carries the same event id and changes nothing). The body is read as raw bytes, up to the ' +
        "API body limit, and verified by the provider's adapter before it is parsed. The sandbox signs per " +
        'Standard Webhooks (headers webhook-id, webhook-timestamp, webhook-signature; HMAC-SHA256 with the ' +
        "provider's webhook secret, timestamp within 5 minutes). Each event goes to its payout; a return " +
        'reported after the payout was paid (its workflow has ended) is posted back to the wallet.',
      tags: ['providers'],
      parameters: [
        {
          name: 'name',
          in: 'path',
          required: true,
          description: 'Provider name, as configured in DISBURSE_PROVIDERS',
          schema: { type: 'string' },
        },
      ],
      requestBody: {
        required: true,
        description: "The provider's event exactly as it signed it",
        content: {
          '*/*': {
            schema: {
              description:
                'Provider-specific; the sandbox sends JSON {"type":"payout.paid|payout.failed|payout.returned",' +
                '"timestamp":"<ISO 8601>","data":{"idempotencyKey","payoutId","providerRef","reason"?}}',
            },
          },
        },
      },
      responses: {
        '200': {
          description: 'Verified; each event handed to its payout',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                description: 'What became of each event in the body',
                required: ['received'],
                properties: {
                  received: {
                    type: 'array',
                    description: 'One entry per event',
                    items: {
                      type: 'object',
                      description: 'An event and its outcome',
                      required: ['eventId', 'payoutId', 'result'],
                      properties: {
                        eventId: { type: 'string', description: "The provider's event id" },
                        payoutId: { type: 'string', description: 'Payout the event is about' },
                        result: {
                          type: 'string',
                          enum: [
                            'delivered',
                            'return_recorded',
                            'already_returned',
                            'charges_recorded',
                            'ignored',
                          ],
                          description:
                            "delivered: to the payout's workflow; return_recorded: a return after the return " +
                            'window, posted back to the wallet now; already_returned: the payout was returned ' +
                            "before; charges_recorded: what the provider reports it charged (Circle's network " +
                            'fee, notified after the transfer) booked for a closed payout; ignored: the payout ' +
                            'is closed and the event changes nothing (logged)',
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
        '400': problemResponse('Signed, but not an event of this provider; or a malformed path escape'),
        '401': problemResponse('Signature missing or wrong, or timestamp outside the tolerance'),
        '404': problemResponse('No such provider, or it takes no webhooks'),
        '413': problemResponse('Body above the API body limit (API_BODY_LIMIT_BYTES)'),
        '429': problemResponse(
          'Rate limit of this provider and sender address (API_RATE_LIMIT_*) exceeded; Retry-After says when to retry',
        ),
        '500': problemResponse('Unexpected error (errorId in the server log)'),
        '503': problemResponse(
          "Verified but not yet handed to its payout, or the provider's verification API did not answer; the provider should retry",
        ),
      },
      security: [],
      'x-roles': [],
    },
  },
};
