// GET /metrics for the API and the worker's own port. Open by default (operators scrape on a private
// network); with METRICS_TOKEN it needs `Authorization: Bearer <token>`, compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { METRICS_CONTENT_TYPE, type ScrapeSource, scrape } from './metrics.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function metricsAuthorized(header: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const m = /^Bearer (.+)$/.exec(header ?? '');
  return !!m && timingSafeEqual(digest(m[1]!), digest(token));
}

/** Answers a scrape on a plain Node response (Express's res is one). */
export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  o: { db?: ScrapeSource; token?: string | undefined; onError?: (error: unknown) => void },
): Promise<void> {
  if (!metricsAuthorized(req.headers.authorization, o.token)) {
    res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' });
    res.end('metrics need Authorization: Bearer <METRICS_TOKEN>\n');
    return;
  }
  try {
    const body = await scrape(o.db);
    res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE });
    res.end(body);
  } catch (error) {
    o.onError?.(error);
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('metrics unavailable: the database did not answer\n');
  }
}

/** What the worker's GET /readyz reports: the container healthcheck probes it (docker-compose.yml). */
export type ReadinessProbe = () => Promise<{ ready: boolean; checks: Record<string, string> }>;

/** The worker's metrics server (WORKER_METRICS_PORT): /metrics, and /readyz when `ready` is given. */
export async function startMetricsServer(o: {
  port: number;
  host: string;
  db?: ScrapeSource;
  token?: string | undefined;
  onError?: (error: unknown) => void;
  ready?: ReadinessProbe;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      void serveMetrics(req, res, o);
      return;
    }
    if (req.method === 'GET' && path === '/readyz' && o.ready) {
      void serveReadiness(res, o.ready);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end(`only GET /metrics${o.ready ? ' and /readyz' : ''} here\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** 200 when every check passed, else 503; no secrets in the body (the probe is unauthenticated). */
async function serveReadiness(res: ServerResponse, ready: ReadinessProbe): Promise<void> {
  let out: { ready: boolean; checks: Record<string, string> };
  try {
    out = await ready();
  } catch (error) {
    out = { ready: false, checks: { probe: error instanceof Error ? error.message : String(error) } };
  }
  res.writeHead(out.ready ? 200 : 503, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify({ status: out.ready ? 'ready' : 'not_ready', checks: out.checks })}\n`);
}
