// The demo's HTTP client: JSON calls to the running instance with one key, an Idempotency-Key on every POST,
// and problem+json answers turned into errors that say what was refused.
import { randomUUID } from 'node:crypto';

/** A step of the demo that cannot go on; `message` says why and what to do. */
export class DemoError extends Error {
  override name = 'DemoError';
}

// biome-ignore lint/suspicious/noExplicitAny: API answers are read field by field
export type Json = any;

export interface DemoApi {
  readonly url: string;
  call(key: string, method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<Json>;
}

export function demoApi(url: string): DemoApi {
  const base = url.replace(/\/$/, '');
  return {
    url: base,
    async call(key, method, path, body) {
      let res: Response;
      try {
        res = await fetch(base + path, {
          method,
          headers: {
            authorization: `Bearer ${key}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(method === 'POST' ? { 'idempotency-key': `demo-${randomUUID()}` } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (error) {
        throw new DemoError(`${method} ${path}: no answer from ${base} (${(error as Error).message})`);
      }
      const text = await res.text();
      const parsed =
        text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
      if (res.status >= 400) {
        const detail = typeof parsed === 'object' ? (parsed.detail ?? parsed.title) : text;
        throw new DemoError(`${method} ${path} answered ${res.status}: ${detail}`);
      }
      return parsed;
    },
  };
}

/** Waits until the instance answers /healthz, so that nothing is written when none is running. */
export async function assertRunning(url: string): Promise<void> {
  try {
    const res = await fetch(`${url.replace(/\/$/, '')}/healthz`);
    if (res.ok) return;
    throw new Error(`/healthz answered ${res.status}`);
  } catch (error) {
    throw new DemoError(
      `no Disburse API at ${url} (${(error as Error).message}). Start it with \`npm start\` in another terminal, or pass --api URL (the "API" line npm start prints).`,
    );
  }
}

/** `USD 1,200.00` from the wire form {amount (minor units), currency, scale}; no floating point. */
export function moneyText(m: { amount: string; currency: string; scale: number }): string {
  const minor = BigInt(m.amount);
  const digits = (minor < 0n ? -minor : minor).toString().padStart(m.scale + 1, '0');
  const whole = digits.slice(0, digits.length - m.scale).replace(/\B(?=(\d{3})+$)/g, ',');
  const fraction = m.scale > 0 ? `.${digits.slice(digits.length - m.scale)}` : '';
  return `${m.currency} ${minor < 0n ? '-' : ''}${whole}${fraction}`;
}
