// What the contract tests of the real adapters share: the ProviderError a submission fails with, and a local
// endpoint that collects the webhooks a fake provider sends, for the adapter to parse.
import type { Server } from 'node:http';
import { isProviderError, type ProviderError } from '../../src/providers/errors.ts';
import { closeServer, listenOnLoopback } from '../fakes/shared/http.ts';

/** The ProviderError `p` rejects with; anything else (or success) fails the test. */
export async function failure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    if (isProviderError(err)) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}

export interface ReceivedWebhook {
  body: Buffer;
  headers: Record<string, string | undefined>;
}

/** Collects every POST (raw body, headers as the API's webhook route sees them) and answers 200. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  url = '';
  #server: Server | undefined;

  async start(): Promise<string> {
    const { server, url } = await listenOnLoopback(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
      this.received.push({ body: Buffer.concat(chunks), headers });
      res.writeHead(200).end('{}');
    });
    this.#server = server;
    this.url = `${url}/hook`;
    return this.url;
  }

  async stop(): Promise<void> {
    await closeServer(this.#server);
  }
}
