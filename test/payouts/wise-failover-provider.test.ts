// Failover between real adapters: two Wise accounts (two instances of the Wise adapter, each against its own
// fake Wise). The first refuses the recipient (a hard decline that moved nothing); the payout fails over to
// the second, which pays it. Invariants: the ledger verifies, exactly one transfer sent across both fakes, and
// what left the second account equals the ledger's provider clearing.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { verifyLedger } from '../../src/ledger/verify.ts';
import { FakeWise } from '../fakes/wise/server.ts';
import { attemptOutcomes, clearingByCurrency, pastPayoutWindow } from '../providers/e2e-support.ts';
import { type Stack, startStack } from '../support/stack.ts';

const TOKEN_A = `wise-a-${randomBytes(12).toString('hex')}`;
const TOKEN_B = `wise-b-${randomBytes(12).toString('hex')}`;

describe('failover from one real adapter to another (two Wise accounts)', () => {
  let stack: Stack;
  let a: FakeWise;
  let b: FakeWise;
  beforeAll(async () => {
    a = new FakeWise({ token: TOKEN_A, profileId: 101 });
    b = new FakeWise({ token: TOKEN_B, profileId: 202 });
    a.addressRequired.clear();
    b.addressRequired.clear();
    await a.start();
    await b.start();
    process.env.E2E_WISE_A_TOKEN = TOKEN_A;
    process.env.E2E_WISE_A_KEY = a.publicKey;
    process.env.E2E_WISE_B_TOKEN = TOKEN_B;
    process.env.E2E_WISE_B_KEY = b.publicKey;
    const wise = (name: string, fake: FakeWise, env: string, priority: number, profileId: number) => ({
      name,
      kind: 'wise' as const,
      capabilities: { priority },
      settings: {
        apiBase: fake.url,
        profileId,
        apiTokenEnv: `${env}_TOKEN`,
        webhookPublicKeyEnv: `${env}_KEY`,
        timeoutMs: 1_000,
      },
    });
    stack = await startStack('wise_failover_e2e', {
      providers: [wise('wise-a', a, 'E2E_WISE_A', 1, 101), wise('wise-b', b, 'E2E_WISE_B', 2, 202)],
    });
    a.webhookUrl = `${stack.url}/v1/providers/wise-a/webhooks`;
    b.webhookUrl = `${stack.url}/v1/providers/wise-b/webhooks`;
  });
  afterAll(async () => {
    await stack?.close();
    await a?.stop();
    await b?.stop();
  });

  it('a recipient the first account refuses is paid by the second; one transfer in all', async () => {
    a.refuseHolder = 'Refused';
    const payeeId = await stack.createPayee({
      payee: { name: 'Refused Holder' },
      bankAccount: { holderName: 'Refused Holder' },
      credit: '100000',
    });
    const payoutId = await stack.requestPayout(payeeId, '4300', { instant: false });
    await pastPayoutWindow(stack, payoutId);
    await a.webhooksSent();
    await b.webhooksSent();
    const final = await stack.result(payoutId);
    expect(final.state).toBe('paid');
    expect(attemptOutcomes(final)).toEqual([
      ['wise-a', 'declined'],
      ['wise-b', 'paid'],
    ]);
    expect(a.transfersFor(payoutId)).toEqual([]);
    const sent = b.transfersFor(payoutId).filter((t) => t.funded);
    expect(sent).toHaveLength(1);
    expect((await verifyLedger(stack.db.em(), stack.db.schema)).violations).toEqual([]);
    expect((await clearingByCurrency(stack)).get('USD')).toBe(sent[0]!.quote.sourceMinor);
  });
});
