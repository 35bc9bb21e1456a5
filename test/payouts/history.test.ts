// A payout's workflow history through the API: the summariser on recorded histories (pure), then
// GET /v1/payouts/:id/history on the real stack (paging, roles, unknown and never-started payouts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Connection } from '@temporalio/client';
import { PayoutGateway } from '../../src/payouts/gateway.ts';
import {
  eventTypeName,
  formatDuration,
  type HistoryEventSummary,
  historyPage,
  summariseHistory,
} from '../../src/payouts/history.ts';
import { payoutWorkflowId } from '../../workflows/payout-contract.ts';
import { historyFixtures } from '../support/histories.ts';
import { type Stack, startStack } from '../support/stack.ts';

const fixture = (name: string) => {
  const found = historyFixtures('payout').find((f) => f.file.replace(/\.json$/, '') === name);
  if (!found) throw new Error(`no fixture ${name}`);
  return found.history;
};

/**
 * Every string a history's payloads hold (inputs, results, marker results, search attribute values), leaving
 * out failures (their message is shown on purpose).
 */
function payloadTexts(node: unknown, out: string[] = []): string[] {
  if (!node || typeof node !== 'object') return out;
  if (node instanceof Uint8Array) return out;
  const n = node as Record<string, unknown>;
  if (n.data instanceof Uint8Array && n.metadata) {
    const text = Buffer.from(n.data).toString('utf8');
    for (const m of text.matchAll(/"([^"]{6,})"/g)) out.push(m[1]!);
    return out;
  }
  for (const [k, v] of Object.entries(n)) if (k !== 'failure') payloadTexts(v, out);
  return out;
}

describe('summariseHistory (recorded histories)', () => {
  it('names each activity, local activity, timer and update without payload contents', () => {
    const history = fixture('baseline-approved');
    const events = summariseHistory(history);
    expect(events).toHaveLength(history.events!.length);
    expect(events.map((e) => e.eventId)).toEqual(events.map((_e, i) => i + 1));
    expect(events[0]).toMatchObject({
      eventId: 1,
      type: 'WorkflowExecutionStarted',
      detail: 'payoutWorkflow',
    });
    expect(events.at(-1)?.type).toBe('WorkflowExecutionCompleted');
    for (const e of events) expect(new Date(e.time).toISOString()).toBe(e.time);

    const of = (type: string) => events.filter((e) => e.type === type).map((e) => e.detail);
    expect(of('MarkerRecorded')).toEqual(expect.arrayContaining(['admitPayout']));
    expect(of('WorkflowExecutionUpdateAccepted')).toContain('decideApproval');
    expect(of('TimerStarted').every((d) => /^timer \d/.test(d))).toBe(true);
    // A completion names what it completes, found through its scheduling event.
    const scheduled = of('ActivityTaskScheduled');
    expect(scheduled.length).toBeGreaterThan(0);
    expect(of('ActivityTaskCompleted').every((d) => scheduled.includes(d))).toBe(true);
    expect(of('UpsertWorkflowSearchAttributes')).toContain('PayoutState');
    // Workflow tasks say nothing more than their type.
    expect(of('WorkflowTaskCompleted').every((d) => d === '')).toBe(true);

    const shown = JSON.stringify(events.map((e) => e.detail));
    // Payload strings other than the names the SDK records as marker metadata (local activity types, patch
    // ids) and the failure messages shown on purpose (the payout's status repeats them).
    const failures = events.filter((e) => e.type === 'ActivityTaskFailed').map((e) => e.detail);
    const secrets = payloadTexts(history).filter(
      (t) => !/^[a-zA-Z]+$/.test(t) && !/^payout-[a-z-]+$/.test(t) && !failures.some((f) => f.includes(t)),
    );
    expect(secrets.length).toBeGreaterThan(0);
    for (const t of secrets) expect(shown).not.toContain(t);
  });

  it("gives a failed activity's message", () => {
    // This recording's first provider declines for good; the second pays.
    const events = summariseHistory(fixture('baseline-approved'));
    const failed = events.filter((e) => e.type === 'ActivityTaskFailed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.map((f) => f.detail)).toEqual([
      expect.stringMatching(/^submitToProvider — ProviderDeclined: .+/),
    ]);
  });

  it('formats types and durations', () => {
    expect(eventTypeName(10)).toBe('ActivityTaskScheduled');
    expect(eventTypeName('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED' as never)).toBe(
      'WorkflowExecutionUpdateAccepted',
    );
    expect([0, 999, 60_000, 90_000, 72 * 3_600_000, 86_400_000 + 1].map(formatDuration)).toEqual([
      '0s',
      '999ms',
      '1m',
      '1m 30s',
      '3d',
      '1d 1ms',
    ]);
  });

  it('pages by event id', () => {
    const events: HistoryEventSummary[] = [1, 2, 3, 4, 5].map((eventId) => ({
      eventId,
      time: '2026-01-01T00:00:00.000Z',
      type: 'WorkflowTaskScheduled',
      detail: '',
    }));
    expect(historyPage(events, { limit: 2 })).toMatchObject({ nextCursor: '3' });
    expect(historyPage(events, { limit: 2, fromEventId: 3 }).items.map((e) => e.eventId)).toEqual([3, 4]);
    expect(historyPage(events, { limit: 2, fromEventId: 5 })).toMatchObject({ nextCursor: null });
    expect(historyPage(events, { limit: 9, fromEventId: 6 })).toEqual({ items: [], nextCursor: null });
  });
});

describe('GET /v1/payouts/:id/history', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('payout_history', {
      env: { APPROVAL_THRESHOLD_SINGLE: 'USD:10000', APPROVAL_THRESHOLD_DUAL: 'USD:1000000' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function allPages(payoutId: string, key: string, limit: number) {
    const items: HistoryEventSummary[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
      const res = stack.expectStatus(
        await stack.call('GET', `/v1/payouts/${payoutId}/history?${q}`, { key }),
        200,
        'history page',
      );
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      items.push(...res.body.items);
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    return { items, pages };
  }

  it("reads an approved payout's history, the same in pages as in one", async () => {
    const payeeId = await stack.createPayee({ credit: '50000' });
    const payoutId = await stack.requestPayout(payeeId, '20000');
    await stack.waitForState(payoutId, ['pending_approval']);
    const approver = await stack.approver('hilda');
    stack.expectStatus(
      await stack.call('POST', `/v1/payouts/${payoutId}/approve`, {
        key: approver.key,
        body: { reason: 'checked', totp: approver.code() },
      }),
      200,
      'approve',
    );
    expect((await stack.result(payoutId)).state).toBe('paid');

    const whole = stack.expectStatus(
      await stack.call('GET', `/v1/payouts/${payoutId}/history?limit=200`, { key: stack.keys.operator.key }),
      200,
      'history',
    );
    expect(whole.contentType).toContain('application/json');
    expect(whole.body).toMatchObject({ payoutId, workflowId: `payout-${payoutId}`, nextCursor: null });
    const events = whole.body.items as HistoryEventSummary[];
    // The same events Temporal holds, summarised.
    expect(events).toEqual(summariseHistory(await stack.handle(payoutId).fetchHistory()));
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('WorkflowExecutionStarted');
    expect(types.at(-1)).toBe('WorkflowExecutionCompleted');
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'WorkflowExecutionUpdateAccepted', detail: 'decideApproval' }),
    );
    expect(events).toContainEqual(expect.objectContaining({ type: 'MarkerRecorded', detail: 'admitPayout' }));
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'ActivityTaskScheduled', detail: expect.stringMatching(/\w/) }),
    );
    // Nothing of the payee or the money is in it.
    expect(JSON.stringify(events)).not.toContain(payeeId);
    expect(JSON.stringify(events)).not.toContain('20000');

    const paged = await allPages(payoutId, stack.keys.approver.key, 7);
    expect(paged.items).toEqual(events);
    expect(paged.pages).toBe(Math.ceil(events.length / 7));
    // Platform keys read it too.
    expect((await stack.call('GET', `/v1/payouts/${payoutId}/history`)).status).toBe(200);
  });

  it('is in the OpenAPI document, every parameter and field described', async () => {
    const doc = (await stack.call('GET', '/openapi.json', { key: null })).body;
    const op = doc.paths['/v1/payouts/{id}/history'].get;
    expect(op['x-roles']).toEqual(['platform', 'operator', 'approver']);
    expect(op.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['cursor', 'id', 'limit']);
    for (const p of op.parameters) expect(p.description).toMatch(/\w/);
    for (const name of ['PayoutHistory', 'PayoutHistoryEvent']) {
      const schema = doc.components.schemas[name];
      expect(schema.description).toMatch(/\w/);
      for (const field of Object.values(schema.properties) as { description?: string }[]) {
        expect(field.description).toMatch(/\w/);
      }
    }
  });

  it('refuses payee tokens, unknown payouts and bad cursors as problem+json', async () => {
    const payeeId = await stack.createPayee({ credit: '5000' });
    const payoutId = await stack.requestPayout(payeeId, '1000');
    await stack.result(payoutId);
    const token = stack.expectStatus(
      await stack.call('POST', `/v1/payees/${payeeId}/tokens`, { body: {} }),
      201,
      'token',
    ).body.token as string;
    const asPayee = await stack.call('GET', `/v1/payouts/${payoutId}/history`, { key: token });
    expect(asPayee.status).toBe(403);
    expect(asPayee.contentType).toContain('application/problem+json');

    const unknown = await stack.call('GET', '/v1/payouts/po_000000000000000000000000/history', {
      key: stack.keys.operator.key,
    });
    expect([unknown.status, unknown.body.detail]).toEqual([
      404,
      'Payout po_000000000000000000000000 not found',
    ]);
    expect(unknown.contentType).toContain('application/problem+json');

    for (const cursor of ['0', 'abc', '-1', '1.5', '99999999999999999']) {
      const bad = await stack.call('GET', `/v1/payouts/${payoutId}/history?cursor=${cursor}`);
      expect([cursor, bad.status]).toEqual([cursor, 400]);
    }
    const past = stack.expectStatus(
      await stack.call('GET', `/v1/payouts/${payoutId}/history?cursor=100000`),
      200,
      'past the end',
    );
    expect(past.body).toMatchObject({ items: [], nextCursor: null });
  });

  it('answers 404 naming the cause for a payout whose workflow never started', async () => {
    // An API whose Temporal does not answer: the payout row is written, its workflow start fails (503).
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const dead = new PayoutGateway(new Client({ connection }), stack.taskQueue, { startTimeoutMs: 300 });
    const cut = await stack.apiWith(dead);
    try {
      const payeeId = await stack.createPayee({ credit: '1000' });
      const res = await fetch(`${cut.url}/v1/payouts`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${stack.keys.platform.key}`,
          'content-type': 'application/json',
          'idempotency-key': 'history-never-started',
        },
        body: JSON.stringify({
          payeeId,
          amount: { amount: '700', currency: 'USD', scale: 2 },
          method: 'bank_transfer',
        }),
      });
      expect(res.status).toBe(503);
      const list = stack.expectStatus(
        await stack.call('GET', `/v1/payouts?payee=${payeeId}`),
        200,
        'the payout row exists',
      );
      const payoutId = list.body.items[0].id as string;
      const missing = await stack.call('GET', `/v1/payouts/${payoutId}/history`, {
        key: stack.keys.operator.key,
      });
      expect(missing.status).toBe(404);
      expect(missing.contentType).toContain('application/problem+json');
      expect(missing.body.detail).toContain('never started');
    } finally {
      await cut.close();
      await connection.close();
    }
  });

  it('answers 404 saying the history is past retention for a final payout whose workflow was deleted', async () => {
    const payeeId = await stack.createPayee({ credit: '1000' });
    const payoutId = await stack.requestPayout(payeeId, '600', { instant: true });
    await stack.waitForState(payoutId, ['paid']);
    // What retention does to a closed workflow (and an operator can do at once): the run and its history go.
    const { client } = stack.temporal;
    await stack.handle(payoutId).result();
    await client.workflowService.deleteWorkflowExecution({
      namespace: client.options.namespace,
      workflowExecution: { workflowId: payoutWorkflowId(payoutId) },
    });
    const missing = await stack.call('GET', `/v1/payouts/${payoutId}/history`, {
      key: stack.keys.operator.key,
    });
    expect(missing.status).toBe(404);
    expect(missing.contentType).toContain('application/problem+json');
    expect(missing.body.detail).toContain('(state paid) has no workflow history any more');
    expect(missing.body.detail).toContain('retention');
    // The record still tells the story.
    const row = stack.expectStatus(await stack.call('GET', `/v1/payouts/${payoutId}`), 200, 'get payout');
    expect(row.body.state).toBe('paid');
  });
});
