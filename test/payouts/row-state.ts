// The payout's row (the read model) as a test waits on it: a closed workflow answers its last state forever,
// a return recorded after it ended is only on the row.

import type { PayoutStateDoc } from '../../src/payouts/state.ts';
import { PayoutStore } from '../../src/payouts/store.ts';
import type { Stack } from '../support/stack.ts';

/** Waits (bounded) until the payout's row is in one of `states`; its recorded state doc. */
export async function waitForRowState(
  stack: Pick<Stack, 'db'>,
  payoutId: string,
  states: PayoutStateDoc['state'][],
  timeoutMs = 20_000,
): Promise<PayoutStateDoc> {
  const store = new PayoutStore(stack.db.schema);
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < deadline) {
    const row = await store.get(stack.db.em(), payoutId);
    last = row?.state;
    if (row && states.includes(row.state)) return row.stateDoc as PayoutStateDoc;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`payout ${payoutId}'s row never reached ${states.join('|')}; last: ${last}`);
}
