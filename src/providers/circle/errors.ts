// Circle SDK (axios) failures → ProviderError, through the shared HTTP-outcome rules (../shared/http-outcome.ts).
// Circle's error body is `{ code: <number>, message }`; a 409 about the idempotency key means the key is bound
// to another request (never retried: the journal refuses that before sending, so it signals a foreign use).
import { isProviderError, ProviderError } from '../errors.ts';
import { classifyHttpFailure, transportOf } from '../shared/http-outcome.ts';

interface AxiosLike {
  isAxiosError?: boolean;
  code?: string;
  message: string;
  response?: { status: number; data?: unknown };
}

/** Circle messages may echo an address; keep the first 6 and last 4 characters. */
export function scrubAddresses(message: string): string {
  return message.replace(/\b(0x[0-9a-fA-F]{6})[0-9a-fA-F]{30}([0-9a-fA-F]{4})\b/g, '$1…$2');
}

export function fromCircleError(provider: string, err: unknown): ProviderError {
  if (isProviderError(err)) return err;
  const e = err as AxiosLike;
  if (e?.isAxiosError) {
    if (e.response) {
      const data = e.response.data as { code?: unknown; message?: unknown } | undefined;
      const message = typeof data?.message === 'string' ? scrubAddresses(data.message) : e.message;
      const status = e.response.status;
      if (status === 409 && /idempotency/i.test(message)) {
        return new ProviderError(provider, 'hard_decline', 'idempotency_key_reused', `HTTP 409: ${message}`);
      }
      if (status >= 200 && status < 300) {
        return classifyHttpFailure(provider, { transport: 'unreadable', message: 'unreadable answer' });
      }
      return classifyHttpFailure(provider, {
        status,
        ...(data?.code !== undefined ? { code: `circle_${String(data.code)}` } : {}),
        message,
      });
    }
    const timedOut = e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || /timeout/i.test(e.message);
    return classifyHttpFailure(provider, {
      transport: timedOut ? 'timeout' : transportOf(e.code),
      message: timedOut ? e.message : `connection to Circle failed (${e.code ?? 'unknown'})`,
    });
  }
  return classifyHttpFailure(provider, {
    transport: 'unreadable',
    message: (err as Error)?.message ?? 'error',
  });
}
