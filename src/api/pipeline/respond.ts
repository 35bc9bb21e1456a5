// Sends the answer once every step inside has finished (a write's transaction has committed by then).
import type { Step } from './exchange.ts';

export const respond: Step = async (x, next) => {
  await next();
  const result = x.result;
  if (!result) throw new Error(`${x.route.method} ${x.route.path}: no answer to send`);
  const { res, route } = x;
  x.status = result.status;
  // A response carrying a secret (a token) must not be kept by any cache on the way.
  if (route.sensitiveResponse) res.setHeader('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
  res.status(result.status);
  if (result.body === undefined || result.status === 204) return void res.end();
  const contentType = route.responses[result.status]?.contentType;
  if (contentType && contentType !== 'application/json') res.type(contentType).send(result.body);
  else res.type('application/json').send(JSON.stringify(result.body));
};
