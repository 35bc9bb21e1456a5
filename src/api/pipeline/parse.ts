// Params, query and body checked against the route's schemas (control characters refused first), the
// payee of a `payeeParam` route checked against the caller, the JSON body read only for writes.
import express, { type Request, type Response } from 'express';
import type { z } from 'zod';
import { canAccessPayee } from '../../auth/principal.ts';
import { ApiError, type FieldError } from '../../http/errors.ts';
import { controlCharErrors } from '../control-chars.ts';
import { renamedFields, zodFieldErrors } from '../problem.ts';
import type { Route } from '../route.ts';
import type { Exchange, Step } from './exchange.ts';

/** Throws not_found unless the caller may see this payee's data (the message is the object's not-found). */
export function assertPayeeAccess(
  x: Exchange,
  payeeId: string,
  notFound = `Payee ${payeeId} not found`,
): void {
  if (x.principal && !canAccessPayee(x.principal, payeeId)) throw new ApiError('not_found', notFound);
}

export function requestParsing(routes: readonly Route[], bodyLimitBytes: number): Step {
  const readBody = jsonBodyReader(bodyLimitBytes);
  const multiline = new Map(routes.map((r) => [r, new Set(r.multilineFields ?? [])]));
  return async (x, next) => {
    const { route, req } = x;
    x.params = validate(route.params, { ...req.params }, 'params') as Record<string, unknown> | undefined;
    if (route.payeeParam) assertPayeeAccess(x, String(x.params?.[route.payeeParam]));
    x.query = validate(route.query, { ...(req.query as object) }, 'query');
    if (route.method !== 'get') {
      const hasBody =
        Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
      if (hasBody) {
        if (!req.is('application/json')) {
          throw new ApiError('unsupported_media_type', 'Send the body as Content-Type: application/json');
        }
        await readBody(req, x.res, route.bodyLimitBytes);
        x.sentBody = req.body;
      }
      if (route.body === undefined && x.sentBody !== undefined && !isEmptyObject(x.sentBody)) {
        throw new ApiError('validation_failed', 'This endpoint takes no request body', {
          errors: [{ path: 'body', message: 'must be empty', code: 'unexpected_body' }],
        });
      }
    }
    const bodySchema = route.bodyByParam
      ? (route.bodyByParam.schemas[String(x.params?.[route.bodyByParam.param])] ?? route.body)
      : route.body;
    x.body = bodySchema ? validate(bodySchema, x.sentBody ?? {}, 'body', multiline.get(route)) : undefined;
    await next();
  };
}

function validate(
  schema: z.ZodType | undefined,
  value: unknown,
  where: 'params' | 'query' | 'body',
  multiline?: ReadonlySet<string>,
): unknown {
  if (!schema) return undefined;
  const control = controlCharErrors(value, where, multiline);
  const r = control.length === 0 ? schema.safeParse(value) : undefined;
  if (r?.success) return r.data;
  const errors: FieldError[] = r ? zodFieldErrors(where, r.error, renamedFields.get(schema)) : control;
  throw new ApiError(
    'validation_failed',
    `Invalid ${where}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
    { errors },
  );
}

/** Reads the JSON body; routes that take large batches (earnings ingestion) declare their own limit. */
function jsonBodyReader(defaultLimit: number) {
  // The raw bytes are kept for routes that verify a signature over them (provider webhooks).
  const keepRaw = (req: unknown, _res: unknown, buf: Buffer) => {
    (req as { rawBody?: Buffer }).rawBody = buf;
  };
  const parsers = new Map<number, ReturnType<typeof express.json>>();
  const parserFor = (limit: number) => {
    let p = parsers.get(limit);
    if (!p) {
      p = express.json({ limit, strict: true, type: () => true, verify: keepRaw });
      parsers.set(limit, p);
    }
    return p;
  };
  return (req: Request, res: Response, limit = defaultLimit) =>
    new Promise<void>((resolve, reject) => {
      parserFor(limit)(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
    });
}

function isEmptyObject(v: unknown): boolean {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
}
