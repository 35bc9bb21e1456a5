// Route registry: one definition carries the HTTP shape, the roles allowed, the zod schemas that validate
// the request, and the handler. The OpenAPI document is generated from the same definitions.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Request } from 'express';
import type { z } from 'zod';
import type { Principal, Role } from '../auth/principal.ts';
import type { Logger } from '../observability/log.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  /** Response body schema; the body is parsed through it (unknown fields stripped) before it is sent. */
  schema?: z.ZodType;
  /** Defaults to application/json. */
  contentType?: string;
  /** Headers the handler sets on this response, beyond those every response carries (openapi.ts). */
  headers?: readonly 'Location'[];
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface AuditInput {
  action: string;
  objectType: string;
  objectId: string;
  details?: Record<string, unknown>;
}

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Authenticated caller (on public routes, `roles: []`, there is none: do not read it there). */
  principal: Principal;
  /** Request-scoped EntityManager; inside one transaction (with the idempotency record) for non-GET routes. */
  em: EntityManager;
  requestId: string;
  log: Logger;
  req: Request;
  /** Exact request body bytes (for signature verification), when a body was sent. */
  rawBody: Buffer | undefined;
  now: Date;
  /**
   * Throws not_found unless the caller may see this payee's data (payee tokens: only their own). For an
   * object reached by its own id (a payout), pass that object's not-found message: the refusal must read
   * exactly as if the object did not exist, never name its owner.
   */
  assertPayeeAccess(payeeId: string, notFound?: string): void;
  /** Appends to the audit log in the request's transaction (actor, role and request id filled in). */
  audit(entry: AuditInput): Promise<void>;
  /**
   * Checks the caller's TOTP code (approver two-factor) and consumes its time step; throws totp_invalid
   * (403) when missing, wrong, replayed or not enrolled.
   */
  verifyApproverTotp(code: string | undefined): Promise<void>;
  /**
   * Resolves once this request holds its Idempotency-Key. In lease mode the key is claimed while the
   * handler makes its first reads: await this before writing. It rejects when the key is not this request's
   * (a replay, 409 or 422, which the framework answers with). Otherwise it resolves at once.
   */
  untilKeyHeld(): Promise<void>;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec<
  P extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
  B extends z.ZodType | undefined,
> {
  method: HttpMethod;
  /** Express path, e.g. `/v1/payees/:id` (rendered as `/v1/payees/{id}` in OpenAPI). */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  /** Roles allowed to call the route; `[]` = public (health, OpenAPI). */
  roles: readonly Role[];
  /**
   * Name of the path parameter holding a payee id: the framework answers 404 when a payee token asks for
   * another payee. Routes whose objects belong to a payee indirectly call `ctx.assertPayeeAccess` instead.
   */
  payeeParam?: string;
  params?: P;
  query?: Q;
  /** Request body schema; use strict objects so unknown fields are rejected. */
  body?: B;
  /**
   * The body variant depends on a path parameter (e.g. destination kind): requests are validated with
   * `schemas[params[param]]`; `body` (their union) documents and types them.
   */
  bodyByParam?: { param: string; schemas: Readonly<Record<string, z.ZodType>> };
  responses: Record<number, ResponseSpec>;
  /**
   * Body fields (dotted paths, `*` for array items) that may hold tab and line breaks, e.g. a CSV upload.
   * Every other string in params, query and body is refused with any control character.
   */
  multilineFields?: readonly string[];
  /** Request body size limit for this route (default: the app's limit, 100 KiB). */
  bodyLimitBytes?: number;
  /** The response carries a secret (e.g. a token): its idempotency copy is stored encrypted. */
  sensitiveResponse?: boolean;
  /**
   * POST routes require an Idempotency-Key by default. `optional` is for callers that cannot send one
   * (provider webhooks: they deduplicate by event id); when a key is sent it is still honoured.
   */
  idempotency?: 'required' | 'optional';
  /**
   * How the key is held while the handler runs (see idempotency.ts). `transaction` (default): the handler
   * runs in one transaction with the stored response. `lease`: for handlers whose effect is a workflow start
   * and that are idempotent by business id; the handler runs without a transaction (each statement commits
   * alone) and must throw its 4xx refusals before it writes anything.
   */
  idempotencyMode?: 'transaction' | 'lease';
  handler: (ctx: RouteContext<Out<P>, Out<Q>, Out<B>>) => Promise<RouteResult>;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry stores routes of every shape
export type Route = RouteSpec<any, any, any>;

export function defineRoute<
  const P extends z.ZodType | undefined = undefined,
  const Q extends z.ZodType | undefined = undefined,
  const B extends z.ZodType | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): Route {
  if (spec.method === 'get' && spec.body) throw new Error(`${spec.path}: GET routes cannot take a body`);
  for (const name of pathParams(spec.path)) {
    const shape = (spec.params as { shape?: Record<string, unknown> } | undefined)?.shape;
    if (!shape || !(name in shape))
      throw new Error(`${spec.method} ${spec.path}: path parameter ":${name}" needs a schema`);
  }
  return spec as Route;
}

export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
