// The payout steps' one-statement reads (PayoutStore.getForScreening, getForSubmission) answer what the
// payee service's own reads answer, and a state recorded with its event in one statement (saveState with
// WebhookOutbox.enqueueStatement) answers what saveState then enqueue answered.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from '../../src/db/sql.ts';
import { PayeeError } from '../../src/payees/index.ts';
import { destinationKindFor } from '../../src/payouts/service.ts';
import type { PayoutStateDoc } from '../../src/payouts/state.ts';
import { PayoutStore } from '../../src/payouts/store.ts';
import { WebhookOutbox } from '../../src/webhooks/index.ts';
import { startTestApi, type TestApi } from '../api/support.ts';

let api: TestApi;
let store: PayoutStore;

beforeAll(async () => {
  api = await startTestApi('payout_joined_reads');
  store = new PayoutStore(api.db.schema);
});
afterAll(async () => {
  await api?.close();
});

const iban = 'GB82 WEST 1234 5698 7654 32';
async function payout(payeeId: string, method: 'bank_transfer' | 'wallet' | 'card' | 'crypto') {
  const id = `po_${randomBytes(12).toString('hex')}`;
  await store.insert(api.db.em(), {
    id,
    payeeId,
    amount: '1000',
    currency: 'EUR',
    scale: 2,
    method,
    instantRequested: true,
    requestedBy: 'test',
    requestedRole: 'admin',
  });
  return id;
}

describe('one-statement reads', () => {
  let payeeId: string;
  beforeAll(async () => {
    payeeId = (await api.createPayee({ taxProfile: { form: 'w9', tin: '123-45-6789' } })).id;
    const other = (await api.createPayee()).id;
    const bank = (holderName: string) => ({
      body: { holderName, country: 'GB', currency: 'GBP', iban },
    });
    for (const [id, name] of [
      [payeeId, 'Pat'],
      [other, 'Other'],
    ] as const) {
      expect((await api.call('PUT', `/v1/payees/${id}/destinations/bank_account`, bank(name))).status).toBe(
        200,
      );
    }
    const wallet = { body: { provider: 'paypal', walletId: 'pat@example.com' } };
    expect((await api.call('PUT', `/v1/payees/${payeeId}/destinations/wallet`, wallet)).status).toBe(200);
  });

  it('getForScreening gives the payee view, destinations and risk facts the payee service reads', async () => {
    const em = api.db.em();
    const id = await payout(payeeId, 'bank_transfer');
    // Another payout of the payee, paid: the risk facts count it.
    const paid = await payout(payeeId, 'wallet');
    await sql(em, `UPDATE "${api.db.schema}".payouts SET state = 'paid' WHERE id = $1`, [paid]);
    const at = new Date(Date.now() + 1000);
    const found = await store.getForScreening(em, id, at);
    expect(found?.payout).toEqual(await store.get(em, id));
    expect(found?.recent).toEqual(
      await store.recentActivity(em, { payeeId, currency: 'EUR', excludeId: id, now: at }),
    );
    expect(found?.recent).toEqual({ count: 1, totalMinor: 1000n, trailingAverageMinor: 1000n });
    const view = api.payees.viewOf(payeeId, found!.payee, found!.destinations);
    expect(view).toEqual(await api.payees.get(em, payeeId));
    for (const kind of ['bank_account', 'wallet', 'card', 'crypto'] as const) {
      expect(api.payees.riskFactsOf(kind, found!.destinations)).toEqual(
        await api.payees.getDestinationRiskFacts(em, payeeId, kind),
      );
    }
    expect(api.payees.riskFactsOf('bank_account', found!.destinations)?.sharedDestinationPayeeCount).toBe(1);
    const row = found!.destinations.find((d) => d.kind === 'wallet');
    expect(api.payees.openDestination(payeeId, 'wallet', row)).toEqual(
      await api.payees.getDestinationForSubmission(em, payeeId, 'wallet'),
    );
    expect(await store.getForScreening(em, 'po_missing', at)).toBeNull();
  });

  it('a missing payee or destination is the same PayeeError not_found', async () => {
    const get = await api.payees.get(api.db.em(), 'pe_gone').catch((e: unknown) => e);
    const viewOf = (() => {
      try {
        return api.payees.viewOf('pe_gone', null, []);
      } catch (e) {
        return e;
      }
    })();
    expect(viewOf).toBeInstanceOf(PayeeError);
    expect(viewOf).toEqual(get);
    const sub = await api.payees
      .getDestinationForSubmission(api.db.em(), payeeId, 'card')
      .catch((e: unknown) => e);
    expect(() => api.payees.openDestination(payeeId, 'card', undefined)).toThrow(sub as Error);
    expect((sub as PayeeError).kind).toBe('not_found');
  });

  it('getForSubmission gives the holder and the destination of the payout method', async () => {
    const em = api.db.em();
    for (const method of ['bank_transfer', 'wallet', 'card'] as const) {
      const id = await payout(payeeId, method);
      const found = await store.getForSubmission(em, id, destinationKindFor);
      const payee = await api.payees.get(em, payeeId);
      expect({ payout: found?.payout, holder: found?.holder }).toEqual({
        payout: await store.get(em, id),
        holder: { name: payee.name, country: payee.country },
      });
      const kind = destinationKindFor[method];
      const expected = await api.payees.getDestinationForSubmission(em, payeeId, kind).catch(() => null);
      expect(
        found!.destination ? api.payees.openDestination(payeeId, kind, found!.destination) : null,
      ).toEqual(expected);
    }
    expect(await store.getForSubmission(em, 'po_missing', destinationKindFor)).toBeNull();
  });
});

describe('a state with its event in one statement', () => {
  const status = (payoutId: string, state: PayoutStateDoc['state']): PayoutStateDoc => ({
    payoutId,
    payeeId: 'x',
    state,
    amount: { amount: '1000', currency: 'EUR', scale: 2 },
    attempts: [],
    approvals: [],
    approvalsRequired: 0,
    reasons: [],
  });
  const event = (id: string) => ({ id, type: 'payout.paid', data: { n: 1 }, occurredAt: new Date() });

  it('answers what saveState and enqueue answer, repeats and final rows included', async () => {
    const payeeId = (await api.createPayee()).id;
    const id = await payout(payeeId, 'wallet');
    const silent = new WebhookOutbox({ db: api.db, endpoints: [] });
    const subscribed = new WebhookOutbox({
      db: api.db,
      endpoints: [{ url: 'http://127.0.0.1:9/hook', secrets: ['whsec_dGVzdA=='] }],
    });
    const em = api.db.em();
    const first = await store.saveState(em, status(id, 'paid'), {
      event: (first) => silent.enqueueStatement(event(`e1:${id}`), first),
    });
    expect(first).toEqual({ changed: true, enqueued: { inserted: true, deliver: false } });
    // The same event again: not inserted, its delivery step decides (deliver), the state is not a change.
    const again = await store.saveState(em, status(id, 'paid'), {
      event: (first) => silent.enqueueStatement(event(`e1:${id}`), first),
    });
    expect(again).toEqual({ changed: false, enqueued: { inserted: false, deliver: true } });
    const hooked = await store.saveState(em, status(id, 'returned'), {
      event: (first) => subscribed.enqueueStatement(event(`e2:${id}`), first),
    });
    expect(hooked).toEqual({ changed: true, enqueued: { inserted: true, deliver: true } });
    // A final row keeps its state; the event is stored all the same, as saveState then enqueue did.
    const late = await store.saveState(em, status(id, 'failed'), {
      event: (first) => silent.enqueueStatement(event(`e3:${id}`), first),
    });
    expect(late).toEqual({ changed: false, enqueued: { inserted: true, deliver: false } });
    expect((await store.get(em, id))?.state).toBe('returned');
    const rows = await sql<{ id: string; delivered: boolean; payload: unknown }>(
      em,
      `SELECT id, delivered_at IS NOT NULL AS delivered, payload FROM "${api.db.schema}".webhook_outbox
        WHERE id LIKE $1 ORDER BY id`,
      [`%:${id}`],
    );
    expect(rows).toEqual([
      { id: `e1:${id}`, delivered: true, payload: { n: 1 } },
      { id: `e2:${id}`, delivered: false, payload: { n: 1 } },
      { id: `e3:${id}`, delivered: true, payload: { n: 1 } },
    ]);
  });

  it('with a breakdown, writes the row saveState then saveBreakdown wrote, final rows included', async () => {
    const payeeId = (await api.createPayee()).id;
    const em = api.db.em();
    const silent = new WebhookOutbox({ db: api.db, endpoints: [] });
    const breakdown = {
      fee: '25',
      withholding: '240',
      rail: 'instant' as const,
      destinationFingerprint: 'fp1',
    };
    const cases: [PayoutStateDoc['state'] | null, PayoutStateDoc][] = [
      [null, { ...status('', 'reserved'), rail: 'scheduled' }],
      ['paid', status('', 'failed')],
      ['failed', { ...status('', 'paid'), provider: 'sandbox' }],
      ['paid', { ...status('', 'returned'), provider: 'sandbox' }],
    ];
    for (const [before, doc] of cases) {
      const [one, two] = [await payout(payeeId, 'wallet'), await payout(payeeId, 'wallet')];
      if (before) {
        await sql(em, `UPDATE "${api.db.schema}".payouts SET state = $2 WHERE id = ANY($1)`, [
          [one, two],
          before,
        ]);
      }
      const apart = await store.saveState(em, { ...doc, payoutId: one });
      await store.saveBreakdown(em, one, breakdown);
      const together = await store.saveState(
        em,
        { ...doc, payoutId: two },
        {
          breakdown,
          event: (first) => silent.enqueueStatement(event(`e:${two}`), first),
        },
      );
      expect(together.changed).toBe(apart.changed);
      const norm = (r: Awaited<ReturnType<PayoutStore['get']>>) => ({
        ...r,
        id: '',
        stateDoc: { ...r!.stateDoc, payoutId: '' },
        createdAt: '',
        updatedAt: '',
      });
      expect(norm(await store.get(em, two))).toEqual(norm(await store.get(em, one)));
      expect(together.enqueued).toEqual({ inserted: true, deliver: false });
      const alone = await store.saveState(em, { ...doc, payoutId: two }, { breakdown: { fee: '30' } });
      expect(alone.changed).toBe(false);
      expect((await store.get(em, two))?.fee).toBe('30');
    }
  });
});
