// Writes the API's OpenAPI document (the full app: every route file, provider webhooks, the webhooks
// section) without serving it: the app is built on a throw-away embedded database and a Temporal client
// that never connects (building routes calls neither). Used by `npm run lint:openapi`.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Client } from '@temporalio/client';
import { createHttpApp } from '../app/http.ts';
import { createServices } from '../app/services.ts';
import { loadConfig } from '../config/index.ts';
import { keyringFromKeys } from '../crypto/index.ts';
import { startEmbeddedDatabase } from '../db/embedded.ts';
import { openDatabase } from '../db/open.ts';
import { createLogger } from '../observability/log.ts';
import { PayoutGateway } from '../payouts/gateway.ts';
import { PayoutHistory } from '../payouts/history.ts';
import { PeriodGateway } from '../periods/gateway.ts';
import { PeriodSchedule } from '../periods/schedule.ts';

const HELP = `Usage: node src/api/openapi-cli.ts [--out FILE]

Writes the OpenAPI 3.1 document of the Disburse API as JSON (stdout, or FILE with --out). Needs no
database or Temporal: it builds the app in memory and does not listen.`;

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const outAt = argv.indexOf('--out');
  const out = outAt >= 0 ? argv[outAt + 1] : undefined;
  if (outAt >= 0 && !out) throw new Error('--out needs a file name');
  const config = loadConfig({ DISBURSE_PROVIDERS: 'sandbox' });
  const embedded = await startEmbeddedDatabase();
  const db = await openDatabase({ url: embedded.url });
  const keyring = keyringFromKeys([['openapi', randomBytes(32)]]);
  const services = await createServices({
    db,
    keyring,
    fingerprintKey: randomBytes(32),
    payouts: config.payouts,
  });
  try {
    const client = new Client(); // lazy: never connects unless a request is served
    const { openapi } = createHttpApp({
      services,
      gateway: new PayoutGateway(client, config.temporal.taskQueue),
      history: new PayoutHistory(client),
      periodGateway: new PeriodGateway(client, config.temporal.taskQueue, {
        reminderMs: 1,
        escalationMs: 1,
        payoutWindow: 1,
        payoutPollMs: 1,
      }),
      periodSchedule: new PeriodSchedule(client, {
        taskQueue: config.temporal.taskQueue,
        calendar: config.periods.calendar,
        graceMs: config.periods.closeGraceMs,
        policy: { reminderMs: 1, escalationMs: 1, payoutWindow: 1, payoutPollMs: 1 },
      }),
      security: {
        keyring,
        fingerprintKey: randomBytes(32),
        tokenSigningKey: randomBytes(32),
        payeeTokenTtlSeconds: 3600,
        totpIssuer: 'Disburse',
      },
      logger: createLogger({ level: 'error', write: () => {} }),
    });
    const json = `${JSON.stringify(openapi, null, 2)}\n`;
    if (out) {
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, json);
    } else process.stdout.write(json);
  } finally {
    await services.stop();
    await db.close();
    await embedded.stop();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
