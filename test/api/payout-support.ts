// The real app with the payout routes on a fresh schema, for tests of what they read from the database: the
// gateway's Temporal connection is lazy and points nowhere, so a route that asked the workflow would fail.
import { Client, Connection } from '@temporalio/client';
import { payoutRoutes } from '../../src/api/routes/payouts.ts';
import { createBulkService } from '../../src/payouts/bulk.ts';
import { PayoutGateway } from '../../src/payouts/gateway.ts';
import { PayoutStore } from '../../src/payouts/store.ts';
import { WebhookOutbox } from '../../src/webhooks/outbox.ts';
import { createTestDatabase } from '../support/db.ts';
import { startTestApi } from './support.ts';

export async function startPayoutApi(label: string) {
  const db = await createTestDatabase(label);
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  const api = await startTestApi(label, {
    db,
    routes: payoutRoutes({
      gateway: new PayoutGateway(new Client({ connection }), 'unused'),
      bulks: createBulkService({ db, outbox: new WebhookOutbox({ db, endpoints: [] }) }),
      store: new PayoutStore(db.schema),
      schema: db.schema,
    }),
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
