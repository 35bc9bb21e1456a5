// End to end (issue 14, finding 3): payees named "Ivan Sanctionov" with a soft hyphen, a zero-width space or
// a Cyrillic І were paid instantly while the plain spelling was held. Each now waits in compliance_hold.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listSandboxDisbursements } from '../../src/providers/index.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('sanctions screening of payouts: evasions by invisible and lookalike characters', () => {
  let stack: Stack;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'disburse-screening-'));
    const file = join(dir, 'sanctions.csv');
    await writeFile(file, 'kind,value,source,reference\nname,"Sanctionov, Ivan",TEST-SDN,SDN-14\n');
    stack = await startStack('screening_evasion', { env: { SANCTIONS_FILE: file, COMPLIANCE_WAIT: '2d' } });
  });
  afterAll(async () => {
    await stack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['plain', 'Ivan Sanctionov'],
    ['soft hyphen', 'Iv\u00adan Sanctionov'],
    ['zero-width space', 'Iv\u200ban Sanctionov'],
    ['Cyrillic capital І', '\u0406van Sanctionov'],
  ])('%s spelling: held in compliance_hold with nothing sent to a provider', async (_what, name) => {
    const payeeId = await stack.createPayee({ credit: '10000', payee: { name } });
    const payoutId = await stack.requestPayout(payeeId, '5000');
    const held = await stack.waitForState(payoutId, ['compliance_hold', 'paid', 'failed']);
    expect(held.state).toBe('compliance_hold');
    expect(held.reasons).toEqual([
      { code: 'sanctions_name_match', message: expect.stringContaining('SDN-14') },
    ]);
    expect(held.attempts).toEqual([]);
    expect(await listSandboxDisbursements(stack.db, { payoutId })).toEqual([]);
    await stack.assertInvariants();
  });
});
