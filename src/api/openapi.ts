// OpenAPI 3.1 document generated from the route registry: the same zod schemas that validate requests
// (z.toJSONSchema) describe them. Named schemas (`.meta({ id })`) become components.
import { z } from 'zod';
import { problemSchema } from './problem.ts';
import { openApiPath, type Route } from './route.ts';

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

function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> {
  const shape = (schema as { shape?: Record<string, z.ZodType> } | undefined)?.shape;
  return shape ?? {};
}

/** Sent on every response (draft-ietf-httpapi-ratelimit-headers); Retry-After with a 429. */
const RATE_LIMIT_HEADERS: Record<string, Json> = {
  'RateLimit-Limit': {
    description: "Size of the caller's bucket (API_RATE_LIMIT_BURST)",
    schema: { type: 'integer' },
  },
  'RateLimit-Remaining': {
    description: 'Requests the caller may still make at once',
    schema: { type: 'integer' },
  },
  'RateLimit-Reset': {
    description: "Seconds until the caller's bucket is full again",
    schema: { type: 'integer' },
  },
  'Retry-After': {
    description: 'Seconds until the next request is accepted',
    schema: { type: 'integer' },
  },
};
const RATE_LIMIT_HEADER_REFS: Json = Object.fromEntries(
  ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'].map((h) => [
    h,
    { $ref: `#/components/headers/${h}` },
  ]),
);

const errorStatuses = (route: Route): number[] => {
  // Every request spends from a rate-limit bucket (public routes by client address).
  const s = [429, 500];
  if (route.roles.length > 0) s.push(401, 403);
  if (route.params || route.query || route.body) s.push(400);
  if (route.params) s.push(404);
  if (route.body) s.push(413, 415);
  if (route.method === 'post') s.push(409, 422);
  return [...new Set(s)].sort();
};

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
        const fieldSchema = convert(field, 'input', components);
        parameters.push({
          name,
          in: where,
          required: where === 'path' || !field.safeParse(undefined).success,
          description: field.description ?? (fieldSchema.description as string | undefined),
          schema: fieldSchema,
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
      responses[status] = {
        description: spec.description,
        headers: RATE_LIMIT_HEADER_REFS,
        ...(spec.schema
          ? {
              content: {
                [spec.contentType ?? 'application/json']: {
                  schema: convert(spec.schema, 'output', components),
                },
              },
            }
          : {}),
      };
    }
    for (const status of errorStatuses(route)) {
      responses[String(status)] ??= {
        description: `Error (application/problem+json)`,
        headers:
          status === 429
            ? { ...RATE_LIMIT_HEADER_REFS, 'Retry-After': { $ref: '#/components/headers/Retry-After' } }
            : RATE_LIMIT_HEADER_REFS,
        content: { 'application/problem+json': { schema: problemRef } },
      };
    }
    const op: Json = {
      operationId: `${route.method}${openApiPath(route.path)
        .replace(/[{}]/g, '')
        .replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: route.tags ?? [],
      parameters,
      responses,
      security: route.roles.length > 0 ? [{ bearerAuth: [] }] : [],
      'x-roles': route.roles,
    };
    if (route.body) {
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: convert(route.body, 'input', components) } },
      };
    }
    const path = openApiPath(route.path);
    paths[path] ??= {};
    paths[path][route.method] = op;
  }
  for (const [path, ops] of Object.entries(handWritten)) paths[path] = { ...paths[path], ...ops };
  return {
    openapi: '3.1.0',
    info,
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: components,
      headers: RATE_LIMIT_HEADERS,
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
