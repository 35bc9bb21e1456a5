// Query parameters of the payout search (GET /v1/payouts and its CSV export): parsed into the domain's
// PayoutSearch, every bad value and every contradictory pair refused with the parameter it concerns.
import { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import { isCurrencyCode } from '../../money/index.ts';
import { payeeIdSchema } from '../../payees/schemas.ts';
import type { PayoutSearch } from '../../payouts/search.ts';
import { renamedFields } from '../problem.ts';
import { payoutStates } from '../routes/payout-schemas.ts';
import { moneySchema } from './money.ts';
import { pageLimit, payoutCursor } from './pagination.ts';

const BIGINT_MAX = 2n ** 63n - 1n;

const statesFilter = z
  .string()
  .max(400)
  .regex(/^[a-z_]+(,[a-z_]+)*$/, 'must be payout states separated by commas, e.g. unknown_outcome,review')
  .transform((s) => s.split(','))
  .pipe(z.array(z.enum(payoutStates)))
  .optional()
  .describe(`Only payouts in one of these states, comma-separated (${payoutStates.join(', ')})`);

const minorUnits = (bound: string) =>
  z
    .string()
    .regex(/^\d{1,19}$/, 'must be a whole number of minor units, e.g. 1250 for 12.50 USD')
    .refine((v) => !/^\d+$/.test(v) || BigInt(v) <= BIGINT_MAX, 'is larger than any amount a payout can have')
    .transform(BigInt)
    .optional()
    .describe(`Gross amount ${bound}, in integer minor units of \`currency\` (which it requires)`);

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A calendar date and time of day that exist (2026-02-30 and 24:00 do not). */
function realParts(m: RegExpExecArray, timed: boolean): boolean {
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, timed ? 7 : 4).map((v) => Number(v ?? 0));
  const at = new Date(Date.UTC(y!, mo! - 1, d!, h, mi, s));
  return (
    at.getUTCFullYear() === y &&
    at.getUTCMonth() === mo! - 1 &&
    at.getUTCDate() === d &&
    at.getUTCHours() === h &&
    at.getUTCMinutes() === mi &&
    at.getUTCSeconds() === s
  );
}

/** The instant a date (00:00 UTC) or an ISO 8601 date-time with Z or an offset stands for; undefined if none. */
export function instantOf(text: string): Date | undefined {
  const date = DATE.exec(text);
  if (date) return realParts(date, false) ? new Date(`${text}T00:00:00Z`) : undefined;
  const dateTime = DATE_TIME.exec(text);
  if (!dateTime || !realParts(dateTime, true)) return undefined;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

const instant = (what: string) =>
  z
    .string()
    .max(40)
    .refine(
      (v) => instantOf(v) !== undefined,
      'must be an ISO 8601 date-time with Z or an offset (2026-11-30T12:00:00Z) or a date (2026-11-30 = 00:00 UTC)',
    )
    .transform((v) => instantOf(v)!)
    .optional()
    .describe(what);

/** The filters, without paging (the CSV export takes these). */
export const payoutFilterShape = {
  state: statesFilter,
  payee: payeeIdSchema.optional().describe('Only payouts of this payee'),
  periodId: z.string().max(100).optional().describe('Only payouts of this period'),
  bulkId: z.string().max(100).optional().describe('Only payouts of this bulk request'),
  provider: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a provider name as configured, e.g. stripe')
    .optional()
    .describe('Only payouts whose latest attempt went to this provider (its configured name)'),
  currency: moneySchema.shape.currency
    .refine(
      (c) => !/^[A-Z][A-Z0-9]{2,9}$/.test(c) || isCurrencyCode(c),
      'is not a currency this deployment knows: an ISO 4217 code such as USD, or a configured asset',
    )
    .optional()
    .describe('Only payouts in this currency'),
  amountMin: minorUnits('at least this'),
  amountMax: minorUnits('at most this'),
  createdFrom: instant('Only payouts created at or after this instant (a date means 00:00 UTC)'),
  createdTo: instant('Only payouts created before this instant (a date means 00:00 UTC)'),
};

type Filters = {
  currency?: string | undefined;
  amountMin?: bigint | undefined;
  amountMax?: bigint | undefined;
  createdFrom?: Date | undefined;
  createdTo?: Date | undefined;
};

/** Pairs of filters that contradict each other, each named by the parameter to change. */
function checkPairs(q: Filters, ctx: z.RefinementCtx): void {
  for (const field of ['amountMin', 'amountMax'] as const) {
    if (q[field] !== undefined && !q.currency) {
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: 'needs currency: amounts compare only within one currency',
      });
    }
  }
  if (q.amountMin !== undefined && q.amountMax !== undefined && q.amountMin > q.amountMax) {
    ctx.addIssue({ code: 'custom', path: ['amountMax'], message: 'must not be less than amountMin' });
  }
  if (q.createdFrom && q.createdTo && q.createdFrom >= q.createdTo) {
    ctx.addIssue({ code: 'custom', path: ['createdTo'], message: 'must be after createdFrom' });
  }
}

export const payoutFilterQuery = z.strictObject(payoutFilterShape).superRefine(checkPairs);

export const payoutSearchQuery = z
  .strictObject({ ...payoutFilterShape, cursor: payoutCursor.optional(), limit: pageLimit })
  .superRefine(checkPairs);

// `state` was `status` before 1.0 (the glossary's word is state): refused, with the name to use.
for (const query of [payoutFilterQuery, payoutSearchQuery]) renamedFields.add(query, { status: 'state' });

type FilterQuery = z.output<typeof payoutFilterQuery>;

/**
 * The search a caller may run: a payee token sees its own payee's payouts only (another payee is answered
 * as not found by the caller, see `foreignPayee`).
 */
export function searchOf(q: FilterQuery, principal: Principal): Omit<PayoutSearch, 'cursor' | 'limit'> {
  const payeeId = principal.kind === 'payee_token' ? principal.payeeId : q.payee;
  return {
    ...(q.state ? { states: q.state } : {}),
    ...(payeeId ? { payeeId } : {}),
    ...(q.periodId ? { periodId: q.periodId } : {}),
    ...(q.bulkId ? { bulkId: q.bulkId } : {}),
    ...(q.provider ? { provider: q.provider } : {}),
    ...(q.currency ? { currency: q.currency } : {}),
    ...(q.amountMin !== undefined ? { amountMin: q.amountMin } : {}),
    ...(q.amountMax !== undefined ? { amountMax: q.amountMax } : {}),
    ...(q.createdFrom ? { createdFrom: q.createdFrom } : {}),
    ...(q.createdTo ? { createdTo: q.createdTo } : {}),
  };
}

/** The payee a payee token asked about that is not its own (to answer 404 as for a payee that does not exist). */
export function foreignPayee(q: { payee?: string | undefined }, principal: Principal): string | undefined {
  return principal.kind === 'payee_token' && q.payee && q.payee !== principal.payeeId ? q.payee : undefined;
}
