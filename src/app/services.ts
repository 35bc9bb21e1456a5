// Composition root of the domain: one place that wires the ledger, payees, providers, webhooks and the
// payout service over a database. The API process, the worker process, `npm start`, tests and benches all
// build their services here.

import { loadSanctionsList, type SanctionsList } from '../compliance/index.ts';
import type { PayoutsConfig } from '../config/payouts.ts';
import { defaultPeriodsConfig, type PeriodsConfig } from '../config/periods.ts';
import { type SpendbackConfig, spendbackSection } from '../config/spendback.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Database } from '../db/open.ts';
import { Ledger } from '../ledger/ledger.ts';
import { createPayeeService, type PayeeService } from '../payees/service.ts';
import { type BulkService, createBulkService } from '../payouts/bulk.ts';
import { createPayoutService, type PayoutService } from '../payouts/service.ts';
import { createPeriodService, type PeriodService } from '../periods/service.ts';
import { loadPlans, type PlanRegistry } from '../plans/registry.ts';
import { createProviderRegistry, type ProviderRegistry } from '../providers/registry.ts';
import { createSpendbackService, type SpendbackService } from '../spendback/service.ts';
import { WebhookEndpointStore, WebhookOutbox } from '../webhooks/index.ts';

export interface Services {
  db: Database;
  ledger: Ledger;
  payees: PayeeService;
  providers: ProviderRegistry;
  outbox: WebhookOutbox;
  /** Webhook endpoints managed over the API (delivered to besides WEBHOOK_ENDPOINTS). */
  webhookEndpoints: WebhookEndpointStore;
  sanctions: SanctionsList;
  payouts: PayoutService;
  bulks: BulkService;
  plans: PlanRegistry;
  periods: PeriodService;
  periodsConfig: PeriodsConfig;
  /** Fees, limits and calendar as configured (the console's payout quote). */
  payoutsConfig: PayoutsConfig;
  spendback: SpendbackService;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  db: Database;
  keyring: Keyring;
  fingerprintKey: Buffer;
  payouts: PayoutsConfig;
  /** Period calendar, plans and close settings (default: the section's defaults and config/plans). */
  periods?: PeriodsConfig;
  /** Spendback settings and rules (default: the section's defaults, no automated rules). */
  spendback?: SpendbackConfig;
  /** Worker processes run the sandbox's background settlement and webhook delivery. */
  startProviderBackground?: boolean;
  clock?: () => Date;
  fetch?: typeof fetch;
}

export async function createServices(o: ServiceOptions): Promise<Services> {
  const ledger = new Ledger(o.db);
  const payees = createPayeeService({
    keyring: o.keyring,
    fingerprintKey: o.fingerprintKey,
    ...(o.clock ? { now: o.clock } : {}),
  });
  const providers = createProviderRegistry(o.payouts.providers, {
    db: o.db,
    keyring: o.keyring,
    startBackground: o.startProviderBackground ?? false,
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const webhookEndpoints = new WebhookEndpointStore({
    db: o.db,
    keyring: o.keyring,
    ...(o.clock ? { now: o.clock } : {}),
  });
  const outbox = new WebhookOutbox({
    db: o.db,
    endpoints: o.payouts.webhooks.endpoints,
    managed: webhookEndpoints,
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  const sanctions = await loadSanctionsList(o.payouts.sanctionsFile);
  const payouts = createPayoutService({
    db: o.db,
    ledger,
    payees,
    providers,
    outbox,
    sanctions,
    settings: o.payouts,
    ...(o.clock ? { now: o.clock } : {}),
  });
  const bulks = createBulkService({ db: o.db, outbox });
  const periodsConfig = o.periods ?? defaultPeriodsConfig();
  const spendback = createSpendbackService({
    db: o.db,
    ledger,
    outbox,
    settings: o.spendback ?? defaultSpendbackSettings(),
    calendar: periodsConfig.calendar,
    ...(o.clock ? { now: o.clock } : {}),
  });
  const plans = loadPlans(periodsConfig.plansDir);
  const periods = createPeriodService({ db: o.db, ledger, plans, outbox, settings: periodsConfig });
  return {
    db: o.db,
    ledger,
    payees,
    providers,
    outbox,
    webhookEndpoints,
    sanctions,
    payouts,
    bulks,
    plans,
    periods,
    periodsConfig,
    payoutsConfig: o.payouts,
    spendback,
    stop: () => providers.stop(),
  };
}

function defaultSpendbackSettings(): SpendbackConfig {
  const parsed = spendbackSection.parse({});
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.value;
}
