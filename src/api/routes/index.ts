import type { Ledger } from '../../ledger/index.ts';
import type { PayeeService } from '../../payees/service.ts';
import type { SecurityContext } from '../app.ts';
import type { Route } from '../route.ts';
import { approverRoutes } from './approvers.ts';
import { payeeRoutes } from './payees.ts';
import { tokenRoutes } from './tokens.ts';
import { type EarningsCreditedHook, walletRoutes } from './wallet.ts';

/** The payee, wallet, token and approver routes; payout routes are added next to these by the caller. */
export function coreRoutes(deps: {
  payees: PayeeService;
  ledger: Ledger;
  security: SecurityContext;
  /** Schema of the database the routes write to (payee token records). */
  schema: string;
  onEarningsCredited?: EarningsCreditedHook | undefined;
}): Route[] {
  return [
    ...approverRoutes(),
    ...payeeRoutes(deps),
    ...walletRoutes(deps),
    ...tokenRoutes({
      payees: deps.payees,
      schema: deps.schema,
      tokenSigningKey: deps.security.tokenSigningKey,
      defaultTtlSeconds: deps.security.payeeTokenTtlSeconds,
      maxTtlSeconds: deps.security.payeeTokenMaxTtlSeconds ?? deps.security.payeeTokenTtlSeconds,
    }),
  ];
}
