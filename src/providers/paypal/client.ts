// PayPal REST over fetch: an OAuth2 client-credentials token (cached until shortly before it expires, one
// request at a time), JSON requests with a timeout, and failures as PaypalHttpError (an answer) or
// ProviderError (no answer). @paypal/paypal-server-sdk has no Payouts or webhook-verification API, so the
// few calls the adapter makes are typed here (./api.ts).
import { classifyHttpFailure, type HttpFailure, transportOf } from '../shared/http-outcome.ts';
import type { Secret } from '../shared/secrets.ts';
import type { PaypalError } from './api.ts';

export interface PaypalClientOptions {
  provider: string;
  apiBase: string;
  clientId: Secret;
  clientSecret: Secret;
  timeoutMs: number;
  clock: () => Date;
  fetch?: typeof fetch;
}

/** PayPal answered with a non-2xx status; `body` is its error object when it sent one. */
export class PaypalHttpError extends Error {
  readonly status: number;
  readonly body: PaypalError;
  constructor(status: number, body: PaypalError) {
    super(`HTTP ${status}: ${body.name ?? body.error ?? 'error'}${body.message ? ` ${body.message}` : ''}`);
    this.name = 'PaypalHttpError';
    this.status = status;
    this.body = body;
  }
}

interface Token {
  value: string;
  expiresAt: number;
}

export class PaypalClient {
  readonly #o: PaypalClientOptions;
  readonly #fetch: typeof fetch;
  #token: Token | undefined;
  #pending: Promise<Token> | undefined;

  constructor(o: PaypalClientOptions) {
    this.#o = o;
    this.#fetch = o.fetch ?? fetch;
  }

  get origin(): string {
    return new URL(this.#o.apiBase).origin;
  }

  /** A valid access token; `fresh` asks PayPal for a new one (health checks, after a 401). */
  async token(fresh = false): Promise<string> {
    const now = this.#o.clock().getTime();
    if (!fresh && this.#token && now < this.#token.expiresAt) return this.#token.value;
    this.#pending ??= this.#requestToken().finally(() => {
      this.#pending = undefined;
    });
    const t = await this.#pending;
    this.#token = t;
    return t.value;
  }

  async #requestToken(): Promise<Token> {
    const basic = Buffer.from(`${this.#o.clientId.reveal()}:${this.#o.clientSecret.reveal()}`).toString(
      'base64',
    );
    const started = this.#o.clock().getTime();
    const body = await this.#send<{ access_token: string; expires_in: number }>('POST', '/v1/oauth2/token', {
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    // Renew at 90% of its lifetime, and at least a minute early, so a request never carries an expiring token.
    const lifeMs = Math.max(0, body.expires_in) * 1000;
    return { value: body.access_token, expiresAt: started + Math.min(lifeMs - 60_000, lifeMs * 0.9) };
  }

  /** An API call with the bearer token; a 401 (token revoked or expired early) gets one new token and retry. */
  async request<T>(
    method: 'GET' | 'POST',
    path: string,
    o: { json?: string; requestId?: string } = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token(attempt > 0);
      try {
        return await this.#send<T>(method, path, {
          headers: {
            authorization: `Bearer ${token}`,
            ...(o.json !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(o.requestId ? { 'paypal-request-id': o.requestId } : {}),
          },
          ...(o.json !== undefined ? { body: o.json } : {}),
        });
      } catch (err) {
        if (err instanceof PaypalHttpError && err.status === 401 && attempt === 0) continue;
        throw err;
      }
    }
  }

  async #send<T>(
    method: string,
    path: string,
    init: { headers: Record<string, string>; body?: string },
  ): Promise<T> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.#o.apiBase.replace(/\/$/, '')}${path}`, {
        method,
        headers: { accept: 'application/json', ...init.headers },
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
    } catch (err) {
      throw classifyHttpFailure(this.#o.provider, noAnswer(err));
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw classifyHttpFailure(this.#o.provider, noAnswer(err));
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      if (res.ok) {
        throw classifyHttpFailure(this.#o.provider, {
          transport: 'unreadable',
          message: 'answer is not JSON',
        });
      }
      parsed = {};
    }
    if (!res.ok) throw new PaypalHttpError(res.status, (parsed ?? {}) as PaypalError);
    return parsed as T;
  }
}

/** What a fetch that produced no (complete) answer means: never connected, timed out, or cut off. */
function noAnswer(err: unknown): HttpFailure {
  const e = err as Error & { cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return { transport: 'timeout', message: 'PayPal did not answer in time' };
  }
  const code = e.cause?.code;
  return { transport: transportOf(code), message: `connection to PayPal failed (${code ?? 'unknown'})` };
}
