// OpenAPI 3.1 document generated from the route registry: the same zod schemas that validate requests
// (z.toJSONSchema) describe them. Named schemas (`.meta({ id })`) become components.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { type ErrorKind, errorKinds, problemType } from '../http/errors.ts';
import {
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from '../webhooks/signing.ts';
import { requiredOnly, sampleOf } from './openapi-examples.ts';
import { problemSchema } from './problem.ts';
import { openApiPath, type Route } from './route.ts';
import { webhookEnvelope, webhookEvents } from './webhook-events.ts';

type Json = Record<string, unknown>;

function convert(schema: z.ZodType, io: 'input' | 'output', components: Record<string, Json>): Json {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' }) as Json;
  delete json.$schema;
  const defs = (json.$defs ?? {}) as Record<string, Json>;
  delete json.$defs;
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (node && typeof node === 'object') {
      const out: Json = {};
      for (const [k, v] of Object.entries(node)) {
        out[k] =
          k === '$ref' && typeof v === 'string' ? v.replace('#/$defs/', '#/components/schemas/') : rewrite(v);
      }
      return out;
    }
    return node;
  };
  for (const [id, def] of Object.entries(defs)) components[id] ??= rewrite(def) as Json;
  // A root schema with an id is itself a component: refer to it.
  const id = (schema.meta() as { id?: string } | undefined)?.id;
  const root = rewrite(json) as Json;
  if (id) {
    components[id] ??= root;
    return { $ref: `#/components/schemas/${id}` };
  }
  return root;
}

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; transform?: unknown };
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Integer bounds a digits-only pattern allows: ^\d{1,3}$, ^[0-6]$, ^[1-9]\d{0,15}$. */
function digitBounds(pattern: string): { minimum: number; maximum: number } | undefined {
  const m = /^\^(\[1-9\])?(?:\\d\{(\d+),(\d+)\}|\\d\{(\d+)\})?\$$/.exec(pattern);
  if (m) {
    const leading = m[1] ? 1 : 0;
    const digits = Number(m[3] ?? m[4] ?? 0) + leading;
    if (digits === 0) return undefined;
    return { minimum: leading, maximum: Math.min(10 ** digits - 1, Number.MAX_SAFE_INTEGER) };
  }
  const range = /^\^\[(\d)-(\d)\]\$$/.exec(pattern);
  return range ? { minimum: Number(range[1]), maximum: Number(range[2]) } : undefined;
}

/**
 * A query or path parameter parsed from its string into a number (`z.string().regex(..).transform(Number)`,
 * optionally `.pipe(z.number()...)`) is documented as the integer it is, not as a string with a pattern.
 */
function integerParameter(field: z.ZodType): Json | undefined {
  let s = field;
  while (['optional', 'default', 'nullable'].includes(defOf(s).type) && defOf(s).innerType)
    s = defOf(s).innerType!;
  const def = defOf(s);
  if (def.type !== 'pipe' || !def.in || !def.out) return undefined;
  const out = defOf(def.out);
  if (out.type === 'number') {
    const json = z.toJSONSchema(def.out, { io: 'output' }) as Json;
    delete json.$schema;
    return json.type === 'integer' ? json : undefined;
  }
  if (out.type !== 'transform' || out.transform !== Number) return undefined;
  const input = z.toJSONSchema(def.in, { io: 'input', unrepresentable: 'any' }) as Json;
  const bounds = typeof input.pattern === 'string' ? digitBounds(input.pattern) : undefined;
  return bounds ? { type: 'integer', ...bounds } : undefined;
}

/** A generated example of `json` that `schema` (the zod schema it came from) accepts, or undefined. */
function exampleFor(schema: z.ZodType, json: Json, components: Record<string, Json>): unknown {
  const full = sampleOf(json, components);
  if (full !== undefined && schema.safeParse(full).success) return full;
  const minimal = requiredOnly(json, components, full);
  return minimal !== undefined && schema.safeParse(minimal).success ? minimal : undefined;
}

function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  const shape = (schema as { shape?: Record<string, z.ZodType> } | undefined)?.shape;
  return shape ?? {};
}

/**
 * Response headers, documented once here rather than per route: the framework (app.ts) sets them.
 * RateLimit-* on every response (draft-ietf-httpapi-ratelimit-headers), X-Request-Id too; Retry-After
 * with a 429, a 503 and an Idempotency-Key still in flight (409); Idempotent-Replayed on a replay.
 */
const HEADERS: Record<string, Json> = {
  'RateLimit-Limit': {
    description: "Size of the caller's bucket (API_RATE_LIMIT_BURST)",
    schema: { type: 'integer', minimum: 0, examples: [60] },
  },
  'RateLimit-Remaining': {
    description: 'Requests the caller may still make at once',
    schema: { type: 'integer', minimum: 0, examples: [59] },
  },
  'RateLimit-Reset': {
    description: "Seconds until the caller's bucket is full again",
    schema: { type: 'integer', minimum: 0, examples: [1] },
  },
  'Retry-After': {
    description: 'Seconds until the request may be retried (a POST with the same Idempotency-Key)',
    schema: { type: 'integer', minimum: 0, examples: [5] },
  },
  'X-Request-Id': {
    description:
      "The request's id (the caller's X-Request-Id when it is a valid one); it is in every log line",
    schema: { type: 'string', examples: ['0b9f3c1e-6a7d-4e0a-9d43-5b8c2f1e7a10'] },
  },
  'Idempotent-Replayed': {
    description:
      'Present (true) when this is the stored response of an earlier request with the same Idempotency-Key',
    schema: { type: 'string', enum: ['true'] },
  },
  Location: {
    description: 'Path of the created resource',
    schema: {
      type: 'string',
      format: 'uri-reference',
      examples: ['/v1/payees/pye_01HZX8K2M3N4P5Q6R7S8T9V0W1'],
    },
  },
};
const headerRefs = (names: readonly string[]): Json =>
  Object.fromEntries(names.map((h) => [h, { $ref: `#/components/headers/${h}` }]));
const EVERY_RESPONSE = ['X-Request-Id', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];

/** Headers of one response: those of every response, Retry-After where it is sent, and the route's own. */
function responseHeaders(route: Route, status: number, own: readonly string[] = []): Json {
  const names = [...EVERY_RESPONSE, ...own];
  const idempotent = route.method === 'post';
  if (status === 429 || status === 503 || (idempotent && status === 409)) names.push('Retry-After');
  if (idempotent && status < 500 && status !== 429) names.push('Idempotent-Replayed');
  return headerRefs(names);
}

/** The body of a non-JSON response (a CSV export): a string of that media type. */
const TEXT_BODY: Record<string, Json> = {
  'text/csv': {
    type: 'string',
    description: 'RFC 4180 CSV with a header row (CRLF line ends)',
    examples: [
      'id,payee_id,state,amount,currency\r\npo_01hzx8k2m3n4,pe_0123456789abcdef01234567,paid,1250,USD\r\n',
    ],
  },
};

/** The problem+json an error status answers with: the first error kind of that status (errors.ts). */
function problemExample(status: number, instance: string): Json | undefined {
  const found = Object.entries(errorKinds).find(([, k]) => k.status === status);
  if (!found) return undefined;
  const [kind, def] = found;
  const example = {
    type: problemType(kind as ErrorKind),
    title: def.title,
    status,
    detail: ERROR_DESCRIPTIONS[status] ?? def.title,
    instance,
    errorId: '5f0c2a9e-1d3b-4c6a-8e7f-9a0b1c2d3e4f',
    kind,
  };
  return problemSchema.safeParse(example).success ? example : undefined;
}

/** Tags group operations in the rendered docs; a route without one is tagged by its first path segment. */
const TAG_DESCRIPTIONS: Record<string, string> = {
  meta: 'Health, readiness, metrics and this document',
  auth: 'API keys, payee tokens and approver two-factor enrolment',
  payees: 'Payees, their destinations and payout preferences',
  wallets: 'Payee wallets: balances and ledger history',
  ledger: 'The double-entry ledger',
  payouts: 'Payout requests, their live state, approvals, cancellation and exports',
  providers: 'Payout providers: webhooks in, manual outcomes, provider operations',
  earnings: 'Earnings ingestion for commission periods',
  periods: 'Commission period close: calculation, approval, posting, payouts',
  spendback: 'Spendback: credit grants, spending and refunds',
  webhooks: 'Outbound webhook endpoints and their deliveries',
  console: 'Reads behind the operator console and the payee portal',
  'webhook events': 'Events Disburse POSTs to your webhook endpoints (signed, retried until a 2xx)',
};

/** A route without its own description: who may call it, and how a POST is retried. */
function describeOperation(route: Route): string {
  const who = route.roles.length === 0 ? 'Public: no credentials.' : `Roles: ${route.roles.join(', ')}.`;
  const retry =
    route.method === 'post'
      ? ' Retry with the same Idempotency-Key: the first response is replayed (Idempotent-Replayed: true).'
      : '';
  return `${route.summary}. ${who}${retry}`;
}

function tagsOf(route: Route): string[] {
  if (route.tags && route.tags.length > 0) return route.tags;
  const segment = route.path.split('/').filter((p) => p && p !== 'v1' && !p.startsWith(':'))[0];
  return [segment ?? 'meta'];
}

/** The project's license (package.json), so the document states it without a second copy. */
function packageLicense(): { name: string; identifier: string } | undefined {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      license?: unknown;
    };
    return typeof pkg.license === 'string' ? { name: pkg.license, identifier: pkg.license } : undefined;
  } catch {
    return undefined;
  }
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or fails validation (problem+json with the failing fields)',
  401: 'No valid credentials',
  403: "The caller's role may not do this (or a required TOTP code is missing or wrong)",
  404: 'Not found (or not visible to this caller)',
  409: 'Conflicts with the current state, or the Idempotency-Key is still in flight (then Retry-After)',
  413: 'The request body is too large',
  415: 'The request body is not application/json',
  422: 'Well-formed but refused (e.g. the Idempotency-Key was used with another body)',
  429: 'Rate limit exceeded; retry after Retry-After seconds',
  500: 'Internal error (the problem carries the request id)',
  503: 'The database or Temporal is unreachable; the request may not have taken effect: retry after Retry-After seconds',
};

const errorStatuses = (route: Route): number[] => {
  // Every request spends from a rate-limit bucket (public routes by client address).
  const s = [429, 500, 503];
  if (route.roles.length > 0) s.push(401, 403);
  if (route.params || route.query || route.body) s.push(400);
  if (route.params) s.push(404);
  if (route.body) s.push(413, 415);
  if (route.method === 'post') s.push(409, 422);
  return [...new Set(s)].sort();
};

/** A body a hand-written operation takes as it comes (a provider's signed event): the sandbox's. */
const HAND_WRITTEN_BODY = {
  type: 'payout.paid',
  timestamp: '2026-11-30T12:00:00.000Z',
  data: { idempotencyKey: 'po_01hzx8k2m3n4:1', payoutId: 'po_01hzx8k2m3n4', providerRef: 'sbx_42' },
};

/** Hand-written operations (no zod schema to check against): examples from their JSON Schema. */
function withExamples(ops: Record<string, Json>, path: string, components: Record<string, Json>) {
  const out: Record<string, Json> = {};
  for (const [method, op] of Object.entries(ops)) {
    const parameters = ((op.parameters as Json[] | undefined) ?? []).map((p) =>
      p.required && p.example === undefined && p.in !== 'header'
        ? { ...p, example: sampleOf(p.schema, components) ?? '' }
        : p,
    );
    const responses: Json = {};
    for (const [status, resp] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
      const content: Json = {};
      for (const [type, media] of Object.entries((resp.content ?? {}) as Record<string, Json>)) {
        const example =
          media.example ??
          (type === 'application/problem+json'
            ? problemExample(Number(status), path)
            : sampleOf(media.schema, components));
        content[type] = example === undefined ? media : { ...media, example };
      }
      responses[status] = resp.content ? { ...resp, content } : resp;
    }
    const body = op.requestBody as Json | undefined;
    const requestBody = body?.content
      ? {
          ...body,
          content: Object.fromEntries(
            Object.entries(body.content as Record<string, Json>).map(([type, media]) => {
              const example = media.example ?? sampleOf(media.schema, components) ?? HAND_WRITTEN_BODY;
              return [type, { ...media, example }];
            }),
          ),
        }
      : body;
    out[method] = { ...op, parameters, responses, ...(requestBody ? { requestBody } : {}) };
  }
  return out;
}

function envelopeMedia(envelope: z.ZodType, components: Record<string, Json>): Json {
  const schema = convert(envelope, 'output', components);
  const example = exampleFor(envelope, schema, components);
  return { schema, ...(example !== undefined ? { example } : {}) };
}

/** OpenAPI 3.1 `webhooks`: one POST per event type the outbox emits, signed as Standard Webhooks. */
function webhooksSection(components: Record<string, Json>): Record<string, Json> {
  const signed = [
    [WEBHOOK_ID_HEADER, 'Event id: the same on every retry of one event (deduplicate by it)'],
    [WEBHOOK_TIMESTAMP_HEADER, 'Unix seconds when this delivery was signed'],
    [
      WEBHOOK_SIGNATURE_HEADER,
      'v1,<base64 HMAC-SHA256 of id.timestamp.body>, space-separated during a secret rotation',
    ],
  ].map(([name, description]) => ({
    name,
    in: 'header',
    required: true,
    description,
    schema: { type: 'string' },
  }));
  const out: Record<string, Json> = {};
  for (const [type, event] of Object.entries(webhookEvents).sort(([a], [b]) => a.localeCompare(b))) {
    out[type] = {
      post: {
        operationId: `webhook${type.replace(/(^|[._])([a-z])/g, (_, _s: string, c: string) => c.toUpperCase())}`,
        summary: event.summary,
        description: `Sent to every enabled webhook endpoint after the change it describes committed; retried until a 2xx.`,
        tags: ['webhook events'],
        security: [],
        parameters: signed,
        requestBody: {
          required: true,
          content: { 'application/json': envelopeMedia(webhookEnvelope(type), components) },
        },
        responses: { '204': { description: 'Received (any 2xx); anything else is retried' } },
      },
    };
  }
  return out;
}

/**
 * `handWritten`: operations served outside the route registry (a raw-body route in front of the app), merged
 * in as given; they may refer to the generated components (e.g. `#/components/schemas/Problem`).
 */
export function buildOpenApi(
  routes: readonly Route[],
  info: { title: string; version: string; description: string },
  handWritten: Record<string, Record<string, Json>> = {},
) {
  const components: Record<string, Json> = {};
  const problemRef = convert(problemSchema, 'output', components);
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const parameters: Json[] = [];
    for (const [where, schema] of [
      ['path', route.params],
      ['query', route.query],
    ] as const) {
      for (const [name, field] of Object.entries(objectShape(schema))) {
        const asInteger = integerParameter(field);
        const fieldSchema = asInteger
          ? { ...asInteger, description: field.description }
          : convert(field, 'input', components);
        const required = where === 'path' || !field.safeParse(undefined).success;
        // Parameters arrive as strings: the example is kept when its string form parses.
        const sample = required ? sampleOf(fieldSchema, components) : undefined;
        const example = sample !== undefined && field.safeParse(String(sample)).success ? sample : undefined;
        parameters.push({
          name,
          in: where,
          required,
          description: field.description ?? (fieldSchema.description as string | undefined),
          schema: fieldSchema,
          ...(example !== undefined ? { example } : {}),
        });
      }
    }
    if (route.method === 'post') {
      parameters.push({
        name: 'Idempotency-Key',
        in: 'header',
        required: route.idempotency !== 'optional',
        description:
          'Unique key per logical request (8-200 characters). Retrying with the same key and body replays the first response.',
        schema: { type: 'string', minLength: 8, maxLength: 200 },
      });
    }
    const responses: Json = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      const type = spec.contentType ?? 'application/json';
      const schema = spec.schema
        ? convert(spec.schema, 'output', components)
        : spec.contentType
          ? (TEXT_BODY[type] ?? { type: 'string', description: `A ${type} document` })
          : undefined;
      const example = spec.schema && schema ? exampleFor(spec.schema, schema, components) : schema?.examples;
      responses[status] = {
        description: spec.description,
        headers: responseHeaders(route, Number(status), spec.headers),
        ...(schema
          ? {
              content: {
                [type]: {
                  schema,
                  ...(example !== undefined
                    ? { example: Array.isArray(example) && !spec.schema ? example[0] : example }
                    : {}),
                },
              },
            }
          : {}),
      };
    }
    for (const status of errorStatuses(route)) {
      const problem = problemExample(status, openApiPath(route.path));
      responses[String(status)] ??= {
        description: ERROR_DESCRIPTIONS[status] ?? 'Error (application/problem+json)',
        headers: responseHeaders(route, status),
        content: {
          'application/problem+json': {
            schema: problemRef,
            ...(problem ? { example: problem } : {}),
          },
        },
      };
    }
    const op: Json = {
      operationId: `${route.method}${openApiPath(route.path)
        .replace(/[{}]/g, '')
        .replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: route.summary,
      description: route.description ?? describeOperation(route),
      tags: tagsOf(route),
      parameters,
      responses,
      security: route.roles.length > 0 ? [{ bearerAuth: [] }] : [],
      'x-roles': route.roles,
    };
    if (route.body) {
      const schema = convert(route.body, 'input', components);
      const example = exampleFor(route.body, schema, components);
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema, ...(example !== undefined ? { example } : {}) } },
      };
    }
    const path = openApiPath(route.path);
    paths[path] ??= {};
    paths[path][route.method] = op;
  }
  for (const [path, ops] of Object.entries(handWritten)) {
    paths[path] = { ...paths[path], ...withExamples(ops as Record<string, Json>, path, components) };
  }
  const webhooks = webhooksSection(components);
  const used = new Set<string>();
  for (const ops of Object.values(paths)) {
    for (const op of Object.values(ops)) for (const t of (op.tags as string[] | undefined) ?? []) used.add(t);
  }
  used.add('webhook events');
  const license = packageLicense();
  return {
    openapi: '3.1.0',
    info: { ...(license ? { license } : {}), ...info },
    tags: [...used].sort().map((name) => ({
      name,
      description: TAG_DESCRIPTIONS[name] ?? `Operations under /v1/${name}`,
    })),
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    paths,
    webhooks,
    components: {
      schemas: components,
      headers: HEADERS,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key (dsb_…) for platform, approver and operator roles, or a payee token (dpt_…)',
        },
      },
    },
  };
}
