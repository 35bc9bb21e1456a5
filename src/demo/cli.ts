// `npm run demo [-- --api URL]`: the first-user journey against the running `npm start` instance, printed
// step by step. Exits 0 only when every payout it made is `paid`.
import { parseCli } from '../cli/args.ts';
import { loadConfig } from '../config/index.ts';
import { assertRunning, DemoError, demoApi } from './api.ts';
import { printHistories, runJourney } from './journey.ts';
import { createDemoKeys } from './keys.ts';

const cli = parseCli({
  usage: `usage: npm run demo [-- --api URL] [--wait SECONDS]

Runs the first-user journey against a running Disburse (start it first with \`npm start\`) and prints each
step: demo API keys (platform, approver with TOTP, operator), a payee with a bank account and instant
opt-in, funded; an instant payout, a scheduled payout (paid in the next payout window), and a payout above
the approval threshold approved with a TOTP code; then each payout's workflow history. Exits 0 when every
payout is paid, 1 naming the state a payout is stuck in and the setting that holds it.
  --api URL        the API of the running instance (default http://127.0.0.1:$API_PORT, port 3000)
  --wait SECONDS   how long each payout may take to reach its next state (default 150)
  -h, --help       print this help and exit (nothing is created)

Environment: the same as npm start's (the demo keys are written to its database).
  DATABASE_URL, DATABASE_SCHEMA   unset = the running instance's embedded PGlite, through its endpoint
  DISBURSE_ENCRYPTION_KEYS        the approver's TOTP secret is encrypted with these; unset = npm start's
                                  development keys (.data/dev-secrets.json)
  API_PORT                        the default --api port`,
  options: {
    api: { type: 'string' },
    wait: { type: 'string', default: '150' },
  },
});
const waitMs = cli.integer('wait', { min: 1, max: 3600 }) * 1000;
const config = loadConfig();
const url = cli.values.api ?? `http://127.0.0.1:${config.api.port || 3000}`;
if (!/^https?:\/\/[^\s/]+/.test(url)) cli.fail(`--api must be an http(s) URL (got ${JSON.stringify(url)})`);

const print = (line: string) => console.log(line);
try {
  await assertRunning(url);
  print(`Disburse demo against ${url}`);
  print('\n1. Demo API keys, created in the running instance’s database (as npm run auth:create-key does)');
  const keys = await createDemoKeys(config);
  print(`   platform  ${keys.platform.actor}  ${keys.platform.key}`);
  print(`   approver  ${keys.approver.actor}  ${keys.approver.key}`);
  print(`             TOTP: ${keys.approver.otpauthUri}`);
  print(`   operator  ${keys.operator.actor}  ${keys.operator.key}`);
  const api = demoApi(url);
  const payouts = await runJourney(api, keys, { waitMs, print });
  await printHistories(api, keys, payouts, { waitMs, print });
  print(`
   The same histories in Temporal UI (docker compose: http://localhost:8080, or any UI on this instance's
   Temporal): filter WorkflowId = "payout-<payout id>" or PayeeId = "${payouts[0]!.payout.payeeId}".`);
  print(`\nDone: ${payouts.length} payouts paid (${payouts.map((p) => `${p.label} ${p.id}`).join(', ')}).`);
} catch (error) {
  if (!(error instanceof DemoError)) throw error;
  console.error(`\nDemo stopped: ${error.message}`);
  process.exitCode = 1;
}
