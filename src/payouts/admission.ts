// Whether a payout request is accepted before its workflow starts: the payee exists, has a method and a
// destination for it, and the available balance covers the amount. A request repeated under the same
// Idempotency-Key finds the payout it made, and must ask for the same payout.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor } from '../auth/actor.ts';
import { qualify } from '../db/identifiers.ts';
import { sql } from '../db/sql.ts';
import { availableBalanceSubquery } from '../ledger/index.ts';
import { formatDecimal, type Money } from '../money/index.ts';
import { destinationKindFor } from './service.ts';
import type { PayoutInput, PayoutMethod } from './state.ts';
import { type PayoutRecord, type PayoutRow, payoutColumns, payoutFromRow } from './store.ts';

export interface PayoutRequest {
  payoutId: string;
  payeeId: string;
  /** Normalised to the currency's own scale. */
  amount: Money;
  method?: PayoutMethod | undefined;
  instant?: boolean | undefined;
  periodId?: string | undefined;
  requestedBy: Actor;
  /** The Idempotency-Key the payout id came from (named in a refusal). */
  requestKey: string;
}

/** A refusal with the API error kind it is answered with (mapError renders it as problem+json). */
export class PayoutRequestRefused extends Error {
  readonly kind: 'not_found' | 'unprocessable' | 'insufficient_funds' | 'idempotency_key_reused';
  constructor(kind: PayoutRequestRefused['kind'], message: string) {
    super(message);
    this.name = 'PayoutRequestRefused';
    this.kind = kind;
  }
}

export interface AdmissionFacts {
  preferredMethod: string | null;
  destinationKinds: string[];
  available: bigint;
  /** The payout this request's key already made, if any. */
  existing: PayoutRecord | null;
}

/**
 * What a request is checked against, in one statement (prepared: one per API request); undefined when the
 * payee does not exist. The payout row's columns are null unless this key made it already.
 */
export async function admissionFacts(
  em: EntityManager,
  schema: string,
  r: Pick<PayoutRequest, 'payeeId' | 'payoutId'> & { currency: string },
): Promise<AdmissionFacts | undefined> {
  type Row = PayoutRow & { _preferred_method: string | null; _kinds: string[]; _available: string | null };
  const [row] = await sql<Row>(
    em,
    `SELECT ${payoutColumns('x')}, y.preferred_method AS _preferred_method,
            ARRAY(SELECT d.kind FROM ${qualify(schema, 'payee_destinations')} d WHERE d.payee_id = y.id) AS _kinds,
            ${availableBalanceSubquery(schema, 'y.id', '$2')} AS _available
       FROM ${qualify(schema, 'payees')} y LEFT JOIN ${qualify(schema, 'payouts')} x ON x.id = $3
      WHERE y.id = $1`,
    [r.payeeId, r.currency, r.payoutId],
    { prepare: true },
  );
  if (!row) return undefined;
  const { _preferred_method, _kinds, _available, ...payout } = row;
  return {
    preferredMethod: _preferred_method,
    destinationKinds: _kinds,
    available: BigInt(_available ?? '0'),
    existing: payout.id === null ? null : payoutFromRow(payout),
  };
}

export type Admission =
  /** The key made this payout already (a request that died before answering): finish its start. */
  { kind: 'existing'; record: PayoutRecord } | { kind: 'new'; input: PayoutInput };

/** Accepts the request or throws PayoutRequestRefused saying what to change. */
export function admit(r: PayoutRequest, facts: AdmissionFacts | undefined): Admission {
  if (!facts) throw new PayoutRequestRefused('not_found', `Payee ${r.payeeId} not found`);
  if (facts.existing) {
    // Not checked again against funds it may hold by now, unless the request asks for something else.
    const e = facts.existing;
    if (
      e.amount !== r.amount.amount ||
      e.currency !== r.amount.currency ||
      e.payeeId !== r.payeeId ||
      (r.method !== undefined && r.method !== e.method) ||
      (r.instant ?? true) !== e.instantRequested ||
      (r.periodId ?? null) !== e.periodId
    ) {
      throw new PayoutRequestRefused(
        'idempotency_key_reused',
        `Idempotency-Key "${r.requestKey}" already made payout ${r.payoutId} with other details; use a new key for a new payout`,
      );
    }
    return { kind: 'existing', record: e };
  }
  const method = r.method ?? methodFor(facts.preferredMethod);
  if (!method) {
    throw new PayoutRequestRefused(
      'unprocessable',
      `Payee ${r.payeeId} has no preferred method; pass "method"`,
    );
  }
  const kind = destinationKindFor[method];
  if (!facts.destinationKinds.includes(kind)) {
    throw new PayoutRequestRefused(
      'unprocessable',
      `Payee ${r.payeeId} has no ${kind} destination for a ${method} payout; PUT /v1/payees/${r.payeeId}/destinations/${kind} first`,
    );
  }
  if (facts.available < BigInt(r.amount.amount)) {
    const available = { ...r.amount, amount: facts.available.toString() };
    throw new PayoutRequestRefused(
      'insufficient_funds',
      `Available ${formatDecimal(available)} ${r.amount.currency} is less than the requested ${formatDecimal(r.amount)}; credit the wallet or request less`,
    );
  }
  return {
    kind: 'new',
    input: {
      payoutId: r.payoutId,
      payeeId: r.payeeId,
      amount: r.amount,
      method,
      instantRequested: r.instant ?? true,
      requestedBy: r.requestedBy,
      ...(r.periodId ? { periodId: r.periodId } : {}),
    },
  };
}

function methodFor(kind: string | null): PayoutMethod | undefined {
  const entry = Object.entries(destinationKindFor).find(([, k]) => k === kind);
  return entry?.[0] as PayoutMethod | undefined;
}
