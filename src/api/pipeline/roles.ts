// The route's roles decide; object-level access (a payee token sees its own payee only) is parse.ts's
// `payeeParam` check and the handlers' `assertPayeeAccess`.
import { ApiError } from '../../http/errors.ts';
import type { Step } from './exchange.ts';

export const roleCheck: Step = async (x, next) => {
  const { route, principal } = x;
  if (principal && !route.roles.includes(principal.role)) {
    throw new ApiError(
      'forbidden',
      `Role ${principal.role} may not ${route.method.toUpperCase()} ${route.path} (allowed: ${route.roles.join(', ')})`,
    );
  }
  await next();
};
