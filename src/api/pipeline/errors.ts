// Any refusal or failure of the steps inside becomes an application/problem+json answer with an error id
// (the same id in the log line). A refused TOTP code is counted here, after the request's transaction has
// rolled back (see totp.ts).
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { mapError, mapRequestError, toProblem } from '../problem.ts';
import { describeCause, type Step } from './exchange.ts';
import { TotpRefusal } from './totp.ts';

export const PROBLEM_JSON = 'application/problem+json';

export const problemAnswers: Step = async (x, next) => {
  try {
    await next();
  } catch (caught) {
    const error = caught instanceof TotpRefusal ? await caught.refuse().catch((e: unknown) => e) : caught;
    const mapped = mapRequestError(error) ?? mapError(error);
    const errorId = randomUUID();
    const problem = toProblem(mapped, x.req.originalUrl.split('?')[0]!, errorId);
    x.status = problem.status;
    x.logFields = {
      errorId,
      errorKind: mapped.kind,
      ...(x.status >= 500 ? { error: describeCause(mapped.cause ?? error) } : {}),
    };
    sendProblem(x.res, problem, mapped.headers);
  }
};

export function sendProblem(
  res: Response,
  problem: { status: number },
  headers: Record<string, string> | undefined,
): void {
  for (const [k, v] of Object.entries(headers ?? {})) res.setHeader(k, v);
  res.status(problem.status).type(PROBLEM_JSON).send(JSON.stringify(problem));
}
