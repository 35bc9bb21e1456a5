// What every provider fake shares: a loopback HTTP server on a free port, and injected faults matched by
// method and path and consumed as they are used.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Which requests a fault applies to, and how many times (default once). */
export interface FaultMatch {
  method?: string;
  path?: RegExp;
  times?: number;
}

/** The first fault matching the request, consumed: removed from `faults` once its `times` are used up. */
export function takeFault<F extends FaultMatch>(faults: F[], method: string, path: string): F | undefined {
  const i = faults.findIndex((f) => (!f.method || f.method === method) && (!f.path || f.path.test(path)));
  if (i < 0) return undefined;
  const f = faults[i]!;
  const left = (f.times ?? 1) - 1;
  if (left <= 0) faults.splice(i, 1);
  else faults[i] = { ...f, times: left };
  return f;
}

/** Starts `handle` on 127.0.0.1 at a free port; the URL has no trailing slash. */
export async function listenOnLoopback(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Drops open connections (a held "timeout" answer too) and closes the server. */
export async function closeServer(server: Server | undefined): Promise<void> {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
}
