// The route's handler, given everything the steps before established, and its answer checked against the
// route's declared responses (undeclared fields stripped) before anything is stored or sent.
import type { Logger } from '../../observability/log.ts';
import type { Route, RouteContext, RouteResult } from '../route.ts';
import { auditFor } from './audit.ts';
import type { Step } from './exchange.ts';
import { assertPayeeAccess } from './parse.ts';
import type { approverTotp } from './totp.ts';

export function routeHandler(deps: {
  log: Logger;
  now: () => Date;
  totp: ReturnType<typeof approverTotp>;
}): Step {
  return async (x) => {
    const ctx: RouteContext<unknown, unknown, unknown> = {
      params: x.params,
      query: x.query,
      body: x.body,
      // Public routes (`roles: []`) have no caller; their handlers do not read it.
      principal: x.principal!,
      requestId: x.requestId,
      req: x.req,
      rawBody: (x.req as { rawBody?: Buffer }).rawBody,
      assertPayeeAccess: (payeeId, notFound) => assertPayeeAccess(x, payeeId, notFound),
      em: x.em,
      untilKeyHeld: x.untilKeyHeld,
      now: deps.now(),
      log: deps.log.child({ requestId: x.requestId }),
      verifyApproverTotp: deps.totp(x.em, x.principal, x.requestId),
      audit: auditFor(x.em, x.principal, x.requestId),
    };
    x.result = checkedResult(x.route, await x.route.handler(ctx));
  };
}

/** Validates the handler's body against the declared response schema (strips undeclared fields). */
function checkedResult(route: Route, result: RouteResult): RouteResult {
  const spec = route.responses[result.status];
  if (!spec) throw new Error(`${route.method} ${route.path} returned undeclared status ${result.status}`);
  if (!spec.schema || result.body === undefined) return result;
  if (spec.contentType && spec.contentType !== 'application/json') return result;
  const parsed = spec.schema.safeParse(result.body);
  if (!parsed.success) {
    throw new Error(
      `${route.method} ${route.path} produced a ${result.status} body that does not match its schema: ${parsed.error.issues
        .map((i) => `${i.path.join('.')} ${i.message}`)
        .join('; ')}`,
    );
  }
  return { ...result, body: parsed.data };
}
