// One request on its way through the pipeline: what each step has established so far. The steps (one per
// concern, each in its own file) run in the order app.ts composes them; a step calls `next` to hand the
// request on and may act after it returns (log, error answer, stored response, commit).
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Request, Response } from 'express';
import type { Principal } from '../../auth/principal.ts';
import type { Route, RouteResult } from '../route.ts';

export interface Exchange {
  readonly route: Route;
  readonly req: Request;
  readonly res: Response;
  readonly requestId: string;
  /** The authenticated caller; null until auth.ts ran, and on public routes. */
  principal: Principal | null;
  params: Record<string, unknown> | undefined;
  query: unknown;
  /** The validated body (parse.ts). */
  body: unknown;
  /** The JSON body as sent, before validation: what the Idempotency-Key's request hash covers. */
  sentBody: unknown;
  /** The Idempotency-Key header of a write, once checked (idempotency.ts). */
  idempotencyKey: string | undefined;
  /** Where the handler reads and writes: the request's transaction for writes (transaction.ts). */
  em: EntityManager;
  /** Resolves once this request holds its Idempotency-Key (lease mode); at once otherwise. */
  untilKeyHeld: () => Promise<void>;
  /** The answer, once the handler (or a stored response) gave one. */
  result: RouteResult | undefined;
  /** Status sent, for the access log. */
  status: number;
  /** Error id, kind and cause of a refused or failed request, for the access log. */
  logFields: Record<string, unknown>;
}

export type Step = (x: Exchange, next: () => Promise<void>) => Promise<void>;

/** Runs the steps in order; each decides whether and when the rest run. */
export function compose(steps: readonly Step[]): (x: Exchange) => Promise<void> {
  const run = (i: number, x: Exchange): Promise<void> => {
    const step = steps[i];
    return step ? step(x, () => run(i + 1, x)) : Promise.resolve();
  };
  return (x) => run(0, x);
}

export function describeCause(error: unknown): Record<string, unknown> {
  if (error instanceof Error)
    return {
      name: error.name,
      message: error.message,
      stack: error.stack?.split('\n').slice(0, 6).join('\n'),
    };
  return { message: String(error) };
}
