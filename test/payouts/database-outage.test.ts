// Payouts through the real API and worker while the app's database connections are terminated again and
// again (pg_terminate_backend on this file's own application_name): no request hangs, each answers or says
// 503 problem+json with Retry-After, /readyz is ready again, and every payout ends paid: the outage is never
// taken for a provider's answer (no failover, no all_providers_failed). Ledger verified.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listSandboxDisbursements } from '../../src/providers/index.ts';
import { testDatabaseKind } from '../support/db.ts';
import { type BackendKiller, backendKiller } from '../support/db-faults.ts';
import { type Stack, startStack } from '../support/stack.ts';

// PGlite serves every connection from one in-process session: its connections cannot be terminated the way
// a PostgreSQL server terminates a backend, so this scenario runs on PostgreSQL only.
const describeOnServer = testDatabaseKind() === 'postgresql' ? describe : describe.skip;

// Far above the acquire bound (DATABASE_ACQUIRE_TIMEOUT_MS, 5 s): a request still unanswered then hung.
const CLIENT_TIMEOUT_MS = 60_000;

interface Answer {
  status: number | 'hung';
  contentType: string;
  retryAfter: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: inspected dynamically
  body: any;
}

describeOnServer('database connections terminated under payout load', () => {
  let stack: Stack;
  let killer: BackendKiller;
  beforeAll(async () => {
    stack = await startStack('db-outage');
    killer = await backendKiller(stack.db.schema);
  });
  afterAll(async () => {
    await killer?.close();
    await stack?.close();
  });

  async function send(
    method: string,
    path: string,
    body?: unknown,
    idempotencyKey?: string,
  ): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${stack.keys.platform.key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    try {
      const res = await fetch(stack.url + path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
      });
      const text = await res.text();
      const contentType = res.headers.get('content-type') ?? '';
      return {
        status: res.status,
        contentType,
        retryAfter: res.headers.get('retry-after'),
        body: contentType.includes('json') && text ? JSON.parse(text) : text,
      };
    } catch (error) {
      if ((error as Error).name === 'TimeoutError')
        return { status: 'hung', contentType: '', retryAfter: null, body: null };
      throw error;
    }
  }

  it('every request answers or says 503 + Retry-After; /readyz recovers; every payout is paid once', async () => {
    const payees = await Promise.all(
      // Distinct accounts (ending 77: no sandbox magic suffix), so no risk rule holds a payout for approval.
      Array.from({ length: 20 }, (_, i) =>
        stack.createPayee({
          credit: '100000',
          bankAccount: {
            accountNumber: `61${randomBytes(3).readUIntBE(0, 3).toString().padStart(8, '0')}${i}77`,
          },
        }),
      ),
    );
    const answers: Answer[] = [];
    const readiness: Answer[] = [];
    let requesting = true;

    // A client that retries a 503 (and a 409 in flight) with the same Idempotency-Key after Retry-After.
    async function requestPayout(payeeId: string): Promise<string> {
      const key = `db-outage-${randomBytes(8).toString('hex')}`;
      const body = {
        payeeId,
        amount: { amount: '2500', currency: 'USD', scale: 2 },
        method: 'bank_transfer',
      };
      // A lease the outage kept from being released stays in flight up to its 60 s: a client waits that out.
      const deadline = Date.now() + 150_000;
      while (Date.now() < deadline) {
        const a = await send('POST', '/v1/payouts', body, key);
        answers.push(a);
        if (a.status === 202) return a.body.id as string;
        if (a.status !== 503 && !(a.status === 409 && a.body?.kind === 'idempotency_in_flight')) {
          throw new Error(`payout request answered ${a.status}: ${JSON.stringify(a.body)}`);
        }
        await new Promise((r) => setTimeout(r, Math.min(Number(a.retryAfter ?? 1), 2) * 1000));
      }
      throw new Error(`payout request never accepted; last: ${JSON.stringify(answers.at(-1))}`);
    }

    // Each payee's platform asks for payouts one after another (and reads the wallet) until the outages end:
    // at most 5 payouts each, below the risk rules' velocity limit (more would wait for approval), then wallet
    // reads only, so requests keep meeting the outages however fast the payouts went.
    let outages = true;
    const requests = Promise.all(
      payees.map(async (p) => {
        const ids: string[] = [];
        while (outages) {
          if (ids.length < 5) ids.push(await requestPayout(p));
          else await new Promise((r) => setTimeout(r, 50));
          answers.push(await send('GET', `/v1/payees/${p}/wallet`));
        }
        return ids;
      }),
    )
      .then((ids) => ids.flat())
      .finally(() => {
        requesting = false;
      });
    const probes = (async () => {
      while (requesting) {
        readiness.push(await send('GET', '/readyz'));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    // Terminate this stack's backends every 500 ms while the requests run (short outages, over and over),
    // until 6 terminations found backends and a request met one, or the payees have asked for all theirs.
    for (let terminations = 0, tick = 0; requesting && tick < 100; tick++) {
      await new Promise((r) => setTimeout(r, 500));
      if ((await killer.terminate()) > 0) terminations++;
      if (terminations >= 6 && answers.some((a) => a.status === 503)) break;
    }
    outages = false;
    const payoutIds = await requests;
    await probes;

    // No request hung; each answered 2xx, or 503 problem+json with Retry-After, or 409 in flight.
    expect(answers.filter((a) => a.status === 'hung')).toEqual([]);
    const unavailable = answers.filter((a) => a.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const a of unavailable) {
      expect(a.contentType).toMatch(/^application\/problem\+json/);
      expect(a.body).toMatchObject({ kind: 'unavailable', status: 503 });
      expect(Number(a.retryAfter)).toBeGreaterThan(0);
    }
    const others = answers.filter(
      (a) => typeof a.status === 'number' && a.status !== 503 && (a.status < 200 || a.status > 299),
    );
    expect(others.every((a) => a.status === 409 && a.body?.kind === 'idempotency_in_flight')).toBe(true);
    expect(readiness.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);

    // Ready again once the terminations stop (bounded: a pool that never reconnects fails here).
    let ready: Answer | undefined;
    for (let i = 0; i < 300 && ready?.status !== 200; i++) {
      ready = await send('GET', '/readyz');
      if (ready.status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready).toMatchObject({ status: 200, body: { status: 'ready' } });

    // One payout per idempotency key, each paid by its one attempt: the outage was no provider outcome.
    expect(new Set(payoutIds).size).toBe(payoutIds.length);
    expect(payoutIds.length).toBeGreaterThanOrEqual(10);
    // `paid` is recorded once the ledger has settled the attempt.
    const FINAL = ['paid', 'failed', 'rejected', 'cancelled', 'returned', 'review', 'unknown_outcome'];
    const finals = await Promise.all(payoutIds.map((id) => stack.waitForState(id, FINAL, 120_000)));
    const summary = finals.map((f) => ({
      state: f.state,
      attempts: f.attempts.map((a) => a.outcome),
      reasons: f.reasons.map((r) => r.code).filter((c) => !c.startsWith('route_')),
    }));
    expect(summary.filter((s) => s.state !== 'paid' || s.attempts.join() !== 'paid')).toEqual([]);
    expect(summary.flatMap((s) => s.reasons)).not.toContain('all_providers_failed');
    for (const id of payoutIds) {
      const rows = await listSandboxDisbursements(stack.db, { payoutId: id });
      expect(rows.map((r) => r.state)).toEqual(['paid']);
    }
    await stack.assertInvariants();
  }, 300_000);
});
