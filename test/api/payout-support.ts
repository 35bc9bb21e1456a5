// The real app with the payout routes on a fresh schema, for tests of what they read from the database: the
// gateway's Temporal connection is lazy and points nowhere, so a route that asked the workflow would fail.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { consoleReadRoutes } from '../../src/api/routes/console-reads.ts';
import { payoutRoutes } from '../../src/api/routes/payouts.ts';
import { loadConfig } from '../../src/config/index.ts';
import { keyringFromKeys } from '../../src/crypto/index.ts';
import { Ledger } from '../../src/ledger/index.ts';
import { createPayeeService } from '../../src/payees/service.ts';
import { createBulkService } from '../../src/payouts/bulk.ts';
import { PayoutGateway } from '../../src/payouts/gateway.ts';
import { PayoutStore } from '../../src/payouts/store.ts';
import { createPeriodStore } from '../../src/periods/store.ts';
import { createSpendbackService } from '../../src/spendback/service.ts';
import { WebhookOutbox } from '../../src/webhooks/outbox.ts';
import { createTestDatabase } from '../support/db.ts';
import { startTestApi } from './support.ts';

export async function startPayoutApi(label: string) {
  const db = await createTestDatabase(label);
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  const store = new PayoutStore(db.schema);
  const outbox = new WebhookOutbox({ db, endpoints: [] });
  const config = loadConfig({ APPROVAL_THRESHOLD_SINGLE: 'USD:1000', APPROVAL_THRESHOLD_DUAL: 'USD:2000' });
  // The app's own keys, so that the console reads' payee service reads what the payee routes wrote.
  const security = { keyring: keyringFromKeys([['k1', randomBytes(32)]]), fingerprintKey: randomBytes(32) };
  const api = await startTestApi(label, {
    db,
    security,
    routes: [
      ...payoutRoutes({
        gateway: new PayoutGateway(new Client({ connection }), 'unused'),
        bulks: createBulkService({ db, outbox }),
        store,
        schema: db.schema,
      }),
      ...consoleReadRoutes({
        schema: db.schema,
        store,
        payees: createPayeeService(security),
        payouts: config.payouts,
        periods: { closedPeriodIds: (limit) => createPeriodStore(db.schema).closedPeriodIds(db.em(), limit) },
        spendback: createSpendbackService({
          db,
          ledger: new Ledger(db),
          outbox,
          settings: config.spendback,
        }),
      }),
    ],
  });
  return {
    db,
    api,
    async close() {
      await api.close();
      await connection.close();
      await db.drop();
    },
  };
}
