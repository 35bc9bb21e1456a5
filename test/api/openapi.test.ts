// The OpenAPI document is generated from the route schemas: every route is in it, and every schema,
// field and parameter carries a description.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { buildOpenApi } from '../../src/api/openapi.ts';
import { defineRoute } from '../../src/api/route.ts';
import { webhookEvents } from '../../src/api/webhook-events.ts';
import { startTestApi, type TestApi } from './support.ts';

let api: TestApi;
// biome-ignore lint/suspicious/noExplicitAny: walking an arbitrary JSON document
type Json = any;
let doc: Json;

beforeAll(async () => {
  api = await startTestApi('api_openapi');
  const res = await api.call('GET', '/openapi.json', { key: null });
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(async () => {
  await api?.close();
});

/** Paths (JSON-pointer-ish) of schema nodes lacking a description. */
function undocumented(node: unknown, where: string, out: string[], requireSelf: boolean): void {
  if (!node || typeof node !== 'object') return;
  const n = node as Record<string, unknown>;
  if (requireSelf && !n.$ref && typeof n.description !== 'string') out.push(where);
  if (n.properties && typeof n.properties === 'object') {
    for (const [k, v] of Object.entries(n.properties as Record<string, unknown>)) {
      undocumented(v, `${where}.properties.${k}`, out, true);
    }
  }
  if (n.items) undocumented(n.items, `${where}.items`, out, false);
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = n[key];
    if (Array.isArray(list)) {
      for (const [i, v] of list.entries()) undocumented(v, `${where}.${key}[${i}]`, out, false);
    }
  }
  if (n.additionalProperties && typeof n.additionalProperties === 'object') {
    undocumented(n.additionalProperties, `${where}.additionalProperties`, out, false);
  }
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every route with its roles', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const r of api.routes) {
      const path = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const op = doc.paths[path]?.[r.method];
      expect(op).toBeDefined();
      expect(op['x-roles']).toEqual(r.roles);
      expect(op.summary.length).toBeGreaterThan(5);
    }
  });

  it('has a description on every component schema and every field', () => {
    const missing: string[] = [];
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      undocumented(schema, `components.schemas.${name}`, missing, true);
    }
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const at = `${method} ${path}`;
        for (const p of op.parameters) {
          if (typeof p.description !== 'string' || p.description.length === 0)
            missing.push(`${at} parameter ${p.name}`);
        }
        const body = op.requestBody?.content?.['application/json']?.schema;
        if (body) undocumented(body, `${at} requestBody`, missing, true);
        for (const [status, resp] of Object.entries(op.responses as Record<string, Json>)) {
          if (!resp.description) missing.push(`${at} response ${status}`);
          for (const media of Object.values((resp.content ?? {}) as Record<string, Json>)) {
            undocumented(media.schema, `${at} response ${status}`, missing, true);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('documents request validation rules from the same schemas (strict bodies, formats)', () => {
    const create = doc.components.schemas.CreatePayee;
    expect(create.additionalProperties).toBe(false);
    expect(create.required).toEqual(
      expect.arrayContaining(['externalId', 'name', 'email', 'country', 'defaultCurrency']),
    );
    const put = doc.paths['/v1/payees/{id}/destinations/{kind}'].put;
    const variants = put.requestBody.content['application/json'].schema.anyOf.map(
      (v: { $ref: string }) => v.$ref,
    );
    expect(variants).toEqual([
      '#/components/schemas/BankAccountDestinationInput',
      '#/components/schemas/WalletDestinationInput',
      '#/components/schemas/CardDestinationInput',
      '#/components/schemas/CryptoDestinationInput',
    ]);
    const post = doc.paths['/v1/payees'].post;
    expect(post.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }),
      ]),
    );
    expect(post.responses['400'].content['application/problem+json'].schema.$ref).toBe(
      '#/components/schemas/Problem',
    );
  });

  it('the description check catches an undocumented field', () => {
    const bad = buildOpenApi(
      [
        defineRoute({
          method: 'post',
          path: '/x',
          summary: 'undocumented',
          roles: ['platform'],
          body: z.strictObject({ a: z.string().describe('documented'), b: z.number() }).describe('body'),
          responses: { 200: { description: 'ok' } },
          handler: async () => ({ status: 200 }),
        }),
      ],
      { title: 't', version: '1', description: 'd' },
    );
    const missing: string[] = [];
    const schema = (bad.paths['/x']!.post as Json).requestBody.content['application/json'].schema;
    undocumented(schema, 'body', missing, true);
    expect(missing).toEqual(['body.properties.b']);
  });

  it('every $ref resolves', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const r of refs) {
      const [kind, name] = r.slice('"$ref":"#/components/'.length, -1).split('/');
      expect(['schemas', 'headers']).toContain(kind);
      expect(doc.components[kind!][name!]).toBeDefined();
    }
    // Every response documents the request id and rate-limit headers; a 429 and 503 also Retry-After.
    const get = doc.paths['/v1/payees/{id}'].get;
    expect(Object.keys(get.responses['200'].headers)).toEqual([
      'X-Request-Id',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
    ]);
    expect(Object.keys(get.responses['429'].headers)).toContain('Retry-After');
    expect(Object.keys(get.responses['503'].headers)).toContain('Retry-After');
    expect(doc.paths['/healthz'].get.responses['429']).toBeDefined();
  });

  it('documents the headers the API sends, as it sends them', async () => {
    const post = doc.paths['/v1/payees'].post;
    expect(Object.keys(post.responses['201'].headers)).toEqual(
      expect.arrayContaining(['Location', 'Idempotent-Replayed', 'X-Request-Id']),
    );
    expect(Object.keys(post.responses['409'].headers)).toContain('Retry-After');
    // The headers a real create and its replay carry are the documented ones.
    const body = {
      externalId: `openapi-${Date.now()}`,
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      country: 'GB',
      defaultCurrency: 'GBP',
    };
    const first = await api.call('POST', '/v1/payees', { body, idempotencyKey: 'openapi-headers-1' });
    expect(first.status).toBe(201);
    const again = await api.call('POST', '/v1/payees', { body, idempotencyKey: 'openapi-headers-1' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    for (const name of [
      'Location',
      'X-Request-Id',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
    ]) {
      expect(first.headers.get(name)).not.toBeNull();
      expect(doc.components.headers[name].schema).toBeDefined();
    }
    expect(first.headers.get('location')).toBe(`/v1/payees/${first.body.id}`);
  });

  it('gives CSV responses their content type', () => {
    const built = buildOpenApi(
      [
        defineRoute({
          method: 'get',
          path: '/x.csv',
          summary: 'a CSV export',
          roles: ['operator'],
          responses: { 200: { description: 'CSV', contentType: 'text/csv' } },
          handler: async () => ({ status: 200 }),
        }),
      ],
      { title: 't', version: '1', description: 'd' },
    );
    const csv = (built.paths['/x.csv']!.get as Json).responses['200'];
    expect(csv.content['text/csv'].schema).toEqual(expect.objectContaining({ type: 'string' }));
    for (const ops of Object.values(doc.paths as Record<string, Record<string, Json>>)) {
      for (const op of Object.values(ops)) {
        for (const resp of Object.values(op.responses as Record<string, Json>)) {
          for (const media of Object.values((resp.content ?? {}) as Record<string, Json>)) {
            expect(media.schema).toBeDefined();
          }
        }
      }
    }
  });

  it('documents numeric query parameters as the integers they are parsed into', () => {
    const limit = doc.paths['/v1/payees/{id}/wallet'].get.parameters.find(
      (p: Json) => p.name === 'limit' && p.in === 'query',
    );
    expect(limit.schema).toEqual(expect.objectContaining({ type: 'integer', minimum: 1, maximum: 200 }));
    expect(limit.description).toMatch(/Page size/);
    const built = buildOpenApi(
      [
        defineRoute({
          method: 'get',
          path: '/n',
          summary: 'numbers',
          roles: ['operator'],
          query: z.strictObject({
            run: z
              .string()
              .regex(/^\d{1,6}$/)
              .transform(Number)
              .optional()
              .describe('Run'),
            scale: z
              .string()
              .regex(/^[0-6]$/)
              .transform(Number)
              .describe('Scale'),
            id: z
              .string()
              .regex(/^[1-9]\d{0,3}$/)
              .transform(Number)
              .describe('Id'),
            name: z.string().describe('Not a number'),
          }),
          responses: { 200: { description: 'ok' } },
          handler: async () => ({ status: 200 }),
        }),
      ],
      { title: 't', version: '1', description: 'd' },
    );
    const schemas = Object.fromEntries(
      (built.paths['/n']!.get as Json).parameters.map((p: Json) => [p.name, p.schema]),
    );
    expect(schemas.run).toEqual({ type: 'integer', minimum: 0, maximum: 999999, description: 'Run' });
    expect(schemas.scale).toEqual({ type: 'integer', minimum: 0, maximum: 6, description: 'Scale' });
    expect(schemas.id).toEqual({ type: 'integer', minimum: 1, maximum: 9999, description: 'Id' });
    expect(schemas.name.type).toBe('string');
  });

  it('tags every operation, describes every tag and states the license', () => {
    const declared = new Map((doc.tags as Json[]).map((t) => [t.name, t.description]));
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const [method, op] of Object.entries(ops)) {
        expect({ at: `${method} ${path}`, tags: op.tags.length > 0 }).toEqual({
          at: `${method} ${path}`,
          tags: true,
        });
        for (const t of op.tags) expect(declared.get(t)).toEqual(expect.any(String));
      }
    }
    expect(doc.info.license).toEqual({ name: 'Apache-2.0', identifier: 'Apache-2.0' });
  });

  it('has a webhooks entry, with its payload schema, for every event type the outbox emits', () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual(Object.keys(webhookEvents).sort());
    expect(Object.keys(doc.webhooks).length).toBeGreaterThanOrEqual(20);
    const paid = doc.webhooks['payout.paid'].post;
    expect(paid.parameters.map((p: Json) => p.name)).toEqual([
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
    ]);
    const envelope = paid.requestBody.content['application/json'].schema;
    expect(envelope.properties.data.$ref).toBe('#/components/schemas/PayoutEventData');
    const missing: string[] = [];
    for (const [type, item] of Object.entries(doc.webhooks as Record<string, Json>)) {
      undocumented(item.post.requestBody.content['application/json'].schema, type, missing, true);
    }
    expect(missing).toEqual([]);
  });

  it('has an example for every request body, response body and required parameter', () => {
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const at = `${method} ${path}`;
        const body = op.requestBody?.content?.['application/json'];
        if (body && body.example === undefined) missing.push(`${at} requestBody`);
        for (const [status, resp] of Object.entries(op.responses as Record<string, Json>)) {
          for (const [type, media] of Object.entries((resp.content ?? {}) as Record<string, Json>)) {
            if (media.example === undefined) missing.push(`${at} ${status} ${type}`);
          }
        }
        for (const p of op.parameters) {
          if (p.required && p.in !== 'header' && p.example === undefined) missing.push(`${at} ${p.name}`);
        }
      }
    }
    expect(missing).toEqual([]);
    // Generated examples are ones the API accepts: the create-payee example registers a payee.
    const example = doc.paths['/v1/payees'].post.requestBody.content['application/json'].example;
    expect(example).toEqual(expect.objectContaining({ email: expect.any(String) }));
  });

  it('keeps a generated example only when the zod schema accepts it', () => {
    const built = buildOpenApi(
      [
        defineRoute({
          method: 'post',
          path: '/e',
          summary: 'examples',
          roles: ['platform'],
          body: z
            .strictObject({
              a: z.string().describe('A'),
              b: z.string().optional().describe('B, never with a'),
            })
            .refine((v) => v.b === undefined, 'b is refused')
            .describe('body'),
          responses: { 200: { description: 'ok' } },
          handler: async () => ({ status: 200 }),
        }),
      ],
      { title: 't', version: '1', description: 'd' },
    );
    const media = (built.paths['/e']!.post as Json).requestBody.content['application/json'];
    expect(media.example).toEqual({ a: 'example' });
  });
});
