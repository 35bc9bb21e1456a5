// Typed REST calls to the Wise Platform API through the built-in fetch (there is no official Node SDK).
// Transport failures become ProviderErrors through the shared HTTP-outcome rules; HTTP answers are returned
// to the adapter, which decides per endpoint (a 409 on cancel is "not cancellable", not "retry").
// Never logs or echoes a request body: recipient bodies hold bank details.
import { ProviderError } from '../errors.ts';
import { classifyHttpFailure, transportOf } from '../shared/http-outcome.ts';
import type { Secret } from '../shared/secrets.ts';
import { parseWiseJson } from './money.ts';

export interface WiseAnswer {
  status: number;
  body: unknown;
  /** Wise's first error code (errors[].code, error, code), when the answer is an error. */
  code?: string;
  message?: string;
  /** Set when Wise asks for strong customer authentication (403 + x-2fa-approval). */
  scaChallenge?: boolean;
}

export interface WiseClientOptions {
  provider: string;
  apiBase: string;
  token: Secret;
  timeoutMs: number;
  fetch?: typeof fetch;
}

export class WiseClient {
  readonly #o: WiseClientOptions;
  readonly #fetch: typeof fetch;
  constructor(o: WiseClientOptions) {
    this.#o = o;
    this.#fetch = o.fetch ?? fetch;
  }

  /** One request; throws ProviderError only when no complete answer arrived. */
  async send(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<WiseAnswer> {
    const url = `${this.#o.apiBase.replace(/\/$/, '')}${path}`;
    let res: Response;
    let text: string;
    try {
      res = await this.#fetch(url, {
        method,
        headers: {
          Authorization: `Bearer ${this.#o.token.reveal()}`,
          Accept: 'application/json',
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      throw this.#transport(err);
    }
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : parseWiseJson(text);
    } catch {
      if (res.status >= 200 && res.status < 300) {
        throw classifyHttpFailure(this.#o.provider, {
          transport: 'unreadable',
          message: `${method} ${path} answered ${res.status} with a body that is not JSON`,
        });
      }
      parsed = {};
    }
    const answer: WiseAnswer = { status: res.status, body: parsed };
    if (res.status >= 400) {
      const e = errorOf(parsed);
      if (e.code) answer.code = e.code;
      if (e.message) answer.message = e.message;
      if (res.status === 403 && res.headers.get('x-2fa-approval')) answer.scaChallenge = true;
    }
    return answer;
  }

  /** Like send, but any non-2xx answer becomes the ProviderError the shared rules give (SCA: an outage). */
  async ok<T>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T> {
    const a = await this.send(method, path, body, headers);
    if (a.status >= 200 && a.status < 300) return a.body as T;
    throw this.failure(a, `${method} ${path.replace(/\/\d+/g, '/…')}`);
  }

  failure(a: WiseAnswer, what: string): ProviderError {
    if (a.scaChallenge) {
      return new ProviderError(
        this.#o.provider,
        'outage',
        'sca_required',
        `${what}: Wise asks for strong customer authentication (403 x-2fa-approval). This endpoint needs SCA ` +
          'on a personal-profile token: use a business profile with an API token that is not subject to SCA',
      );
    }
    return classifyHttpFailure(this.#o.provider, {
      status: a.status,
      ...(a.code ? { code: a.code } : {}),
      message: `${what}${a.message ? `: ${a.message}` : ''}`,
    });
  }

  #transport(err: unknown): ProviderError {
    const e = err as Error & { cause?: { code?: string } };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') {
      return classifyHttpFailure(this.#o.provider, {
        transport: 'timeout',
        message: `no answer from Wise within ${this.#o.timeoutMs} ms`,
      });
    }
    const code = e.cause?.code;
    return classifyHttpFailure(this.#o.provider, {
      transport: transportOf(code),
      message: `connection to Wise failed (${code ?? 'unknown'})`,
    });
  }
}

/** Wise error bodies: {errors:[{code,message}]}, {error, error_description}, {code, message}. */
function errorOf(body: unknown): { code?: string; message?: string } {
  const b = (body ?? {}) as Record<string, unknown>;
  const first = Array.isArray(b.errors) ? (b.errors[0] as Record<string, unknown> | undefined) : undefined;
  const code = first?.code ?? b.code ?? b.error;
  const message = first?.message ?? b.message ?? b.error_description;
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof message === 'string' ? { message: scrub(message.slice(0, 300)) } : {}),
  };
}

/** Wise messages may quote an account number or IBAN: keep only the last four of any long code with digits. */
export function scrub(message: string): string {
  return message.replace(/\b[A-Za-z0-9]{8,34}\b/g, (m) => (/\d/.test(m) ? `****${m.slice(-4)}` : m));
}
