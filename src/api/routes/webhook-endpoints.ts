// Outbound webhook endpoints over the API (operator): create, list, disable, rotate the secret; and per
// event, the delivery log and a replay of a failed delivery. WEBHOOK_ENDPOINTS entries are listed as
// read-only (`source: env`): they are changed in the environment. Every change is audited; a secret is in
// a response only when it is created or rotated (stored encrypted with the keyring, like destinations).
import { z } from 'zod';
import { ApiError } from '../../http/errors.ts';
import {
  DEFAULT_ROTATION_GRACE_MS,
  type StoredWebhookEndpoint,
  WEBHOOK_ENDPOINT_ID,
  WebhookDeliveryError,
  WebhookEndpointNotFoundError,
  type WebhookEndpointStore,
  type WebhookOutbox,
} from '../../webhooks/index.ts';
import { defineRoute, type Route } from '../route.ts';
import { pageLimit } from '../schemas/pagination.ts';

/** The delivery workflows' activity retry policy (workflows/payout.ts and the other webhook senders). */
const RETRY = { initialMs: 5_000, coefficient: 2, maximumMs: 30 * 60_000, maximumAttempts: 25 };
const DEFAULT_PAGE = 50;

const endpointId = z
  .string()
  .regex(WEBHOOK_ENDPOINT_ID, 'must be a webhook endpoint id (we_ and 24 hex digits)')
  .describe('Webhook endpoint id');
const eventId = z
  .string()
  .min(1)
  .max(300)
  .regex(/^\S+$/, 'must be a webhook event id (webhook-id header), without spaces')
  .describe('Webhook event id, as sent in the webhook-id header (e.g. payout.paid:po_…)');
const webhookUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2000)
  // Checks run on after a failed one: guard the parse so a non-URL stays a 400.
  .refine(
    (u) => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password),
    'must not carry credentials',
  )
  // Stored and audited as the parser's form: no lone surrogate reaches the audit log's jsonb.
  .transform((u) => new URL(u).href)
  .describe('URL receiving the POSTed events (https in production)');

const endpointView = z
  .object({
    id: z.string().describe('Endpoint id (we_…); for env endpoints env:<n>'),
    url: z.string().describe('Receiving URL'),
    description: z.string().nullable().describe('Free text given at creation'),
    status: z.enum(['enabled', 'disabled']).describe('Disabled endpoints receive nothing'),
    source: z.enum(['api', 'env']).describe('api: managed here; env: WEBHOOK_ENDPOINTS, read-only'),
    createdAt: z.string().nullable().describe('When it was created (ISO 8601); null for env'),
    createdBy: z.string().nullable().describe('Actor who created it; null for env'),
    rotatedAt: z.string().nullable().describe('Last secret rotation'),
    disabledAt: z.string().nullable().describe('When it was disabled'),
    previousSecretExpiresAt: z
      .string()
      .nullable()
      .describe('Until when the previous secret still signs (null: one secret signs)'),
  })
  .meta({ id: 'WebhookEndpoint', description: 'An outbound webhook endpoint (never its secret)' });

const withSecret = endpointView
  .extend({
    secret: z.string().describe('whsec_… signing secret: shown this once, store it now (Standard Webhooks)'),
  })
  .meta({ id: 'WebhookEndpointWithSecret', description: 'An endpoint and its new signing secret' });

const attemptView = z
  .object({
    id: z.string().describe('Attempt id (cursor order)'),
    endpointId: z.string().nullable().describe('API endpoint id; null for a WEBHOOK_ENDPOINTS one'),
    url: z.string().describe('URL the attempt was POSTed to'),
    attemptedAt: z.string().describe('When (ISO 8601)'),
    durationMs: z.number().int().describe('How long the request took'),
    responseStatus: z.number().int().nullable().describe('HTTP status answered; null when none came'),
    ok: z.boolean().describe('2xx: this endpoint has the event'),
    error: z.string().nullable().describe('Why it failed'),
  })
  .describe('One POST of the event to one endpoint');

const deliveryView = z
  .object({
    eventId: z.string().describe('Event id (webhook-id)'),
    type: z.string().describe('Event type'),
    occurredAt: z.string().describe('When the event happened (ISO 8601)'),
    status: z
      .enum(['delivered', 'retrying', 'failed', 'pending'])
      .describe(
        'delivered: every endpoint acknowledged; retrying: the delivery activity retries; failed: its retries are spent (replay it); pending: not tried yet',
      ),
    deliveredAt: z.string().nullable().describe('When the last endpoint acknowledged it'),
    deliveryRuns: z
      .number()
      .int()
      .describe('Delivery runs so far (each tries every endpoint not yet acknowledged)'),
    nextRetryAt: z
      .string()
      .nullable()
      .describe(
        'When the delivery activity retries next, per its retry policy (null: delivered or retries spent)',
      ),
    attempts: z.array(attemptView).describe('Attempts, oldest first (one page)'),
    nextCursor: z
      .string()
      .nullable()
      .describe('Pass as cursor for the next page of attempts; null at the end'),
  })
  .meta({ id: 'WebhookDelivery', description: "An event's delivery log" });

const INVALID_CURSOR = 'is not a cursor this API returned; start again without a cursor';
const endpointPage = z.strictObject({
  cursor: z
    .string()
    .regex(WEBHOOK_ENDPOINT_ID, INVALID_CURSOR)
    .optional()
    .describe('nextCursor of the previous page'),
  limit: pageLimit,
});
const attemptPage = z.strictObject({
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,17}$/, INVALID_CURSOR)
    .optional()
    .describe('nextCursor of the previous page'),
  limit: pageLimit,
});

function view(e: StoredWebhookEndpoint) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    status: e.status,
    source: 'api' as const,
    createdAt: e.createdAt.toISOString(),
    createdBy: e.createdBy,
    rotatedAt: e.rotatedAt?.toISOString() ?? null,
    disabledAt: e.disabledAt?.toISOString() ?? null,
    previousSecretExpiresAt: e.previousSecretExpiresAt?.toISOString() ?? null,
  };
}

function envView(url: string, i: number) {
  return {
    id: `env:${i + 1}`,
    url,
    description: 'WEBHOOK_ENDPOINTS',
    status: 'enabled' as const,
    source: 'env' as const,
    createdAt: null,
    createdBy: null,
    rotatedAt: null,
    disabledAt: null,
    previousSecretExpiresAt: null,
  };
}

/** Next retry of the delivery activity after `runs` failed runs, the last at `lastAt` (Temporal backoff). */
export function nextRetryAt(runs: number, lastAt: Date): Date | null {
  if (runs >= RETRY.maximumAttempts) return null;
  const delay = Math.min(RETRY.initialMs * RETRY.coefficient ** Math.max(0, runs - 1), RETRY.maximumMs);
  return new Date(lastAt.getTime() + delay);
}

export function webhookEndpointRoutes(deps: { store: WebhookEndpointStore; outbox: WebhookOutbox }): Route[] {
  const notFound = (id: string): never => {
    throw new ApiError('not_found', `webhook endpoint ${id} not found`);
  };
  async function delivery(id: string, query: { cursor?: string | undefined; limit?: number | undefined }) {
    const event = await deps.outbox.get(id);
    if (!event) throw new ApiError('not_found', `webhook event ${id} not found`);
    const attemptsPage = await deps.outbox.attemptPage(id, {
      limit: query.limit ?? DEFAULT_PAGE,
      after: query.cursor,
    });
    const last = (await deps.outbox.attemptPage(id, { limit: 1_000_000 })).items.at(-1);
    const retry =
      event.deliveredAt === null && event.attempts > 0 && last
        ? nextRetryAt(event.attempts, last.attemptedAt)
        : null;
    const status =
      event.deliveredAt !== null
        ? 'delivered'
        : event.attempts === 0
          ? 'pending'
          : retry === null
            ? 'failed'
            : 'retrying';
    return {
      eventId: event.id,
      type: event.type,
      occurredAt: event.occurredAt.toISOString(),
      status,
      deliveredAt: event.deliveredAt?.toISOString() ?? null,
      deliveryRuns: event.attempts,
      nextRetryAt: retry?.toISOString() ?? null,
      attempts: attemptsPage.items.map((a) => ({
        id: a.id,
        endpointId: a.endpointId,
        url: a.endpoint,
        attemptedAt: a.attemptedAt.toISOString(),
        durationMs: a.durationMs,
        responseStatus: a.httpStatus,
        ok: a.ok,
        error: a.error,
      })),
      nextCursor: attemptsPage.nextCursor,
    };
  }

  return [
    defineRoute({
      method: 'post',
      path: '/v1/webhook-endpoints',
      summary: 'Create a webhook endpoint; its signing secret is in this response only',
      tags: ['webhooks'],
      roles: ['operator'],
      body: z
        .strictObject({
          url: webhookUrl,
          description: z.string().min(1).max(200).optional().describe('What it is for'),
        })
        .meta({ id: 'CreateWebhookEndpoint', description: 'A new webhook endpoint' }),
      sensitiveResponse: true,
      responses: {
        201: { description: 'Created; every event from now on is delivered to it', schema: withSecret },
      },
      handler: async (ctx) => {
        const { endpoint, secret } = await deps.store.create(ctx.em, {
          url: ctx.body.url,
          description: ctx.body.description,
          actor: ctx.principal.actor,
        });
        await ctx.audit({
          action: 'webhook_endpoint.create',
          objectType: 'webhook_endpoint',
          objectId: endpoint.id,
          details: { url: endpoint.url },
        });
        return { status: 201, body: { ...view(endpoint), secret } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/webhook-endpoints',
      summary: 'List webhook endpoints (WEBHOOK_ENDPOINTS ones first, read-only, on the first page)',
      tags: ['webhooks'],
      roles: ['operator'],
      query: endpointPage,
      responses: {
        200: {
          description: 'One page of endpoints, oldest first',
          schema: z
            .object({
              items: z.array(endpointView).describe('Endpoints'),
              nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null at the end'),
            })
            .meta({ id: 'WebhookEndpointPage', description: 'A page of webhook endpoints' }),
        },
      },
      handler: async (ctx) => {
        const after = ctx.query.cursor;
        const { items, nextCursor } = await deps.store.list({
          limit: ctx.query.limit ?? DEFAULT_PAGE,
          after,
        });
        const env = after === undefined ? deps.outbox.configuredUrls.map(envView) : [];
        return { status: 200, body: { items: [...env, ...items.map(view)], nextCursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/webhook-endpoints/:id',
      summary: 'One webhook endpoint',
      tags: ['webhooks'],
      roles: ['operator'],
      params: z.strictObject({ id: endpointId }),
      responses: { 200: { description: 'The endpoint', schema: endpointView } },
      handler: async (ctx) => {
        const e = (await deps.store.get(ctx.params.id, ctx.em)) ?? notFound(ctx.params.id);
        return { status: 200, body: view(e) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/webhook-endpoints/:id/disable',
      summary: 'Disable a webhook endpoint: no delivery to it from the next attempt on',
      tags: ['webhooks'],
      roles: ['operator'],
      params: z.strictObject({ id: endpointId }),
      responses: { 200: { description: 'Disabled (also when it already was)', schema: endpointView } },
      handler: async (ctx) => {
        try {
          const { endpoint, changed } = await deps.store.disable(ctx.em, ctx.params.id);
          if (changed) {
            await ctx.audit({
              action: 'webhook_endpoint.disable',
              objectType: 'webhook_endpoint',
              objectId: endpoint.id,
            });
          }
          return { status: 200, body: view(endpoint) };
        } catch (error) {
          if (error instanceof WebhookEndpointNotFoundError) notFound(ctx.params.id);
          throw error;
        }
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/webhook-endpoints/:id/rotate-secret',
      summary: 'Rotate the signing secret; the previous one keeps signing for a grace period',
      description:
        'Deliveries carry one signature per valid secret (webhook-signature is space-separated), so a receiver verifies with either while it switches.',
      tags: ['webhooks'],
      roles: ['operator'],
      params: z.strictObject({ id: endpointId }),
      body: z
        .strictObject({
          previousSecretValidSeconds: z
            .number()
            .int()
            .min(0)
            .max(30 * 24 * 3600)
            .optional()
            .describe(
              'How long the previous secret keeps signing, 0-2592000 (default 86400; 0 = retire it now)',
            ),
        })
        .meta({ id: 'RotateWebhookSecret', description: 'Rotation of a webhook signing secret' }),
      sensitiveResponse: true,
      responses: { 200: { description: 'Rotated: the new secret, shown this once', schema: withSecret } },
      handler: async (ctx) => {
        const graceMs =
          ctx.body.previousSecretValidSeconds === undefined
            ? DEFAULT_ROTATION_GRACE_MS
            : ctx.body.previousSecretValidSeconds * 1000;
        try {
          const { endpoint, secret } = await deps.store.rotate(ctx.em, ctx.params.id, graceMs);
          await ctx.audit({
            action: 'webhook_endpoint.rotate_secret',
            objectType: 'webhook_endpoint',
            objectId: endpoint.id,
            details: { previousSecretExpiresAt: endpoint.previousSecretExpiresAt?.toISOString() ?? null },
          });
          return { status: 200, body: { ...view(endpoint), secret } };
        } catch (error) {
          if (error instanceof WebhookEndpointNotFoundError) notFound(ctx.params.id);
          throw error;
        }
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/webhook-events',
      summary: 'Outbound webhook events, newest first; status=undelivered finds those to replay',
      tags: ['webhooks'],
      roles: ['operator'],
      query: z.strictObject({
        status: z
          .enum(['all', 'undelivered'])
          .optional()
          .describe('undelivered: not yet acknowledged by every endpoint (default all)'),
        cursor: eventId.optional().describe('nextCursor of the previous page'),
        limit: pageLimit,
      }),
      responses: {
        200: {
          description: 'One page of events',
          schema: z
            .object({
              items: z
                .array(
                  z
                    .object({
                      eventId: z.string().describe('Event id (webhook-id)'),
                      type: z.string().describe('Event type'),
                      occurredAt: z.string().describe('When it happened (ISO 8601)'),
                      deliveredAt: z.string().nullable().describe('When the last endpoint acknowledged it'),
                      deliveryRuns: z.number().int().describe('Delivery runs so far'),
                    })
                    .describe('An outbound event'),
                )
                .describe('Events'),
              nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null at the end'),
            })
            .meta({ id: 'WebhookEventPage', description: 'A page of outbound webhook events' }),
        },
      },
      handler: async (ctx) => {
        const { items, nextCursor } = await deps.outbox.eventPage({
          undelivered: ctx.query.status === 'undelivered',
          limit: ctx.query.limit ?? DEFAULT_PAGE,
          after: ctx.query.cursor,
        });
        return {
          status: 200,
          body: {
            items: items.map((e) => ({
              eventId: e.id,
              type: e.type,
              occurredAt: e.occurredAt.toISOString(),
              deliveredAt: e.deliveredAt?.toISOString() ?? null,
              deliveryRuns: e.attempts,
            })),
            nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/webhook-events/:eventId/deliveries',
      summary: "An event's delivery log: attempts per endpoint, response codes, durations, next retry",
      tags: ['webhooks'],
      roles: ['operator'],
      params: z.strictObject({ eventId }),
      query: attemptPage,
      responses: { 200: { description: 'The delivery log', schema: deliveryView } },
      handler: async (ctx) => ({ status: 200, body: await delivery(ctx.params.eventId, ctx.query) }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/webhook-events/:eventId/replay',
      summary: 'Deliver an event again to every enabled endpoint that has not acknowledged it',
      description:
        'Runs the delivery now (same webhook-id, fresh timestamp and signatures) and answers with the log; refused when every endpoint already has the event.',
      tags: ['webhooks'],
      roles: ['operator'],
      params: z.strictObject({ eventId }),
      idempotencyMode: 'lease',
      responses: {
        200: { description: 'Replayed; status says whether every endpoint now has it', schema: deliveryView },
        409: { description: 'Already delivered to every endpoint' },
      },
      handler: async (ctx) => {
        const event = await deps.outbox.get(ctx.params.eventId);
        if (!event) throw new ApiError('not_found', `webhook event ${ctx.params.eventId} not found`);
        if (event.deliveredAt !== null) {
          throw new ApiError(
            'conflict',
            `webhook event ${event.id} was delivered to every endpoint; nothing to replay`,
          );
        }
        await ctx.untilKeyHeld();
        let failures: number;
        try {
          await deps.outbox.deliverWebhook(event.id);
          failures = 0;
        } catch (error) {
          if (!(error instanceof WebhookDeliveryError)) throw error;
          failures = error.failures.length;
        }
        await ctx.audit({
          action: 'webhook_event.replay',
          objectType: 'webhook_event',
          objectId: event.id,
          details: { failures },
        });
        return { status: 200, body: await delivery(event.id, { limit: 200 }) };
      },
    }),
  ];
}
