// The browser console at /console: static files (vanilla ES modules, no build step), sign-in that turns an
// API key or payee token into a sealed session cookie, and /console/api/* which forwards to this server's
// own HTTP API with the session's credential — the same routes, roles and object checks as any client.
import { fileURLToPath } from 'node:url';
import express, { type Request, type Response } from 'express';
import type { Keyring } from '../crypto/index.ts';
import { configuredAssets } from '../money/index.ts';
import { ISO_4217 } from '../money/iso4217.ts';
import { FINAL_STATES, PAYOUT_STATES } from '../payouts/state.ts';
import {
  type ConsoleSession,
  CSRF_COOKIE,
  CSRF_HEADER,
  cookie,
  newCsrfToken,
  openSession,
  readCookies,
  SESSION_COOKIE,
  sameToken,
  sealSession,
} from './session.ts';

export interface ConsoleOptions {
  keyring: Keyring;
  /** Link target of "open in Temporal UI" (TEMPORAL_UI_URL); none = no link. */
  temporalUiUrl?: string | undefined;
  namespace?: string;
  /** Session lifetime (default 8 h); a payee token's own expiry still applies at every request. */
  sessionTtlMs?: number;
  bodyLimitBytes?: number;
  now?: () => number;
}

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
// Scripts and styles from this origin only: nothing inline, nothing from elsewhere, no framing.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
// Headers the console forwards to the API, and back.
const FORWARD_REQUEST = ['content-type', 'idempotency-key', 'x-request-id', 'accept'];
const FORWARD_RESPONSE = ['content-type', 'content-disposition', 'x-request-id', 'retry-after', 'location'];

export function consoleRouter(o: ConsoleOptions): express.Router {
  const now = o.now ?? Date.now;
  const ttl = o.sessionTtlMs ?? 8 * 3600_000;
  const router = express.Router();
  // Bodies pass through unparsed; the API applies each route's own limit (manual imports take up to 5 MB).
  const raw = express.raw({ type: () => true, limit: Math.max(o.bodyLimitBytes ?? 0, 6 * 1024 * 1024) });

  router.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.use('/static', express.static(STATIC_DIR, { index: false, fallthrough: false }));
  router.get('/', (_req, res) => res.sendFile('index.html', { root: STATIC_DIR }));
  // Decimal places per currency and configured asset, so forms take "12.50" and send minor units.
  router.get('/currencies', (_req, res) => {
    res.json(
      Object.fromEntries([...ISO_4217, ...configuredAssets().map((a) => [a.code, a.exponent] as const)]),
    );
  });
  // The payout states the search offers, and the final ones (the payout page offers no action on those).
  router.get('/payout-states', (_req, res) => {
    res.json({ states: PAYOUT_STATES, final: FINAL_STATES });
  });

  const sessionOf = (req: Request) =>
    openSession(o.keyring, readCookies(req.get('cookie'))[SESSION_COOKIE], now());
  const csrfCookieOf = (req: Request) => readCookies(req.get('cookie'))[CSRF_COOKIE];
  const view = (s: ConsoleSession) => ({
    signedIn: true,
    role: s.role,
    actor: s.actor,
    payeeId: s.payeeId,
    csrf: s.csrf,
    temporalUiUrl: o.temporalUiUrl ?? null,
    namespace: o.namespace ?? 'default',
  });

  router.get('/session', (req, res) => {
    const s = sessionOf(req);
    if (s) return void res.json(view(s));
    // Signed out: a token for the sign-in form (double submit: this cookie and the header must match).
    const csrf = csrfCookieOf(req) ?? newCsrfToken();
    res.setHeader('Set-Cookie', cookie(CSRF_COOKIE, csrf, { secure: req.secure }));
    res.json({ signedIn: false, csrf });
  });

  router.post('/session', express.json({ limit: 8 * 1024 }), async (req, res) => {
    if (!sameToken(req.get(CSRF_HEADER), csrfCookieOf(req))) return void refuseCsrf(res);
    const credential = typeof req.body?.credential === 'string' ? req.body.credential.trim() : '';
    if (!/^(dsb_|dpt_)\S+$/.test(credential)) {
      return void problem(res, 400, 'Sign-in refused', 'Paste an API key (dsb_…) or a payee token (dpt_…)');
    }
    // Who the credential is, asked of the API itself: an unknown, revoked or expired one is refused there.
    const who = await fetch(`${selfUrl(req)}/v1/whoami`, {
      headers: { authorization: `Bearer ${credential}` },
    });
    if (!who.ok) {
      const detail =
        who.status === 401 ? 'This key or token is unknown, revoked or expired' : await who.text();
      return void problem(res, who.status === 401 ? 401 : 502, 'Sign-in refused', detail);
    }
    const me = (await who.json()) as { role: ConsoleSession['role']; actor: string; payeeId: string | null };
    const s: ConsoleSession = { credential, ...me, csrf: newCsrfToken(), expiresAt: now() + ttl };
    res.setHeader('Set-Cookie', [
      cookie(SESSION_COOKIE, sealSession(o.keyring, s), { secure: req.secure, maxAgeSeconds: ttl / 1000 }),
      cookie(CSRF_COOKIE, '', { secure: req.secure, maxAgeSeconds: 0 }),
    ]);
    res.json(view(s));
  });

  router.post('/session/end', (req, res) => {
    const s = sessionOf(req);
    if (s && !sameToken(req.get(CSRF_HEADER), s.csrf)) return void refuseCsrf(res);
    res.setHeader('Set-Cookie', cookie(SESSION_COOKIE, '', { secure: req.secure, maxAgeSeconds: 0 }));
    res.status(204).end();
  });

  router.all('/api/v1/*path', raw, async (req, res) => {
    const s = sessionOf(req);
    if (!s) return void problem(res, 401, 'Signed out', 'Sign in again: the session is missing or expired');
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameToken(req.get(CSRF_HEADER), s.csrf)) {
      return void refuseCsrf(res);
    }
    const headers: Record<string, string> = { authorization: `Bearer ${s.credential}` };
    for (const h of FORWARD_REQUEST) {
      const v = req.get(h);
      if (v) headers[h] = v;
    }
    const path = req.originalUrl.slice(req.baseUrl.length + '/api'.length);
    const body = Buffer.isBuffer(req.body) && req.body.length > 0 ? req.body : undefined;
    const answer = await fetch(selfUrl(req) + path, {
      method: req.method,
      headers,
      ...(body ? { body } : {}),
      redirect: 'manual',
    });
    res.status(answer.status);
    for (const h of FORWARD_RESPONSE) {
      const v = answer.headers.get(h);
      if (v) res.setHeader(h, v);
    }
    res.send(Buffer.from(await answer.arrayBuffer()));
  });
  return router;
}

/** This same server, on the address the request came in on (so the API sees it as any other client). */
function selfUrl(req: Request): string {
  let host = req.socket.localAddress ?? '127.0.0.1';
  if (host.startsWith('::ffff:')) host = host.slice(7);
  if (host.includes(':')) host = `[${host}]`;
  return `http://${host}:${req.socket.localPort}`;
}

function problem(res: Response, status: number, title: string, detail: string) {
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title, status, detail }));
}

function refuseCsrf(res: Response) {
  problem(
    res,
    403,
    'CSRF check failed',
    `Send the session's token in the X-CSRF-Token header (from GET /console/session)`,
  );
}
