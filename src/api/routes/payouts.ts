// Payout routes: request (single and bulk), read live state, list and export, approve/reject, cancel,
// clear a compliance hold, resolve an unknown provider outcome. Each decision is an update to the payout's
// workflow; the workflow's validators refuse what is not allowed now (409 with its reason).
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { BulkProgress } from '../../../workflows/bulk-contract.ts';
import type { Actor, PayoutStatus } from '../../../workflows/payout-contract.ts';
import { sql } from '../../db/sql.ts';
import { ApiError } from '../../http/errors.ts';
import type { Ledger } from '../../ledger/index.ts';
import { currencyOf, formatDecimal, parseMoney } from '../../money/index.ts';
import { BulkCriteriaMismatch, type BulkService } from '../../payouts/bulk.ts';
import { PayoutDecisionRefused, type PayoutGateway, payoutIdFor } from '../../payouts/gateway.ts';
import { redactForPayee } from '../../payouts/payee-view.ts';
import { searchAllPayouts, searchPayouts } from '../../payouts/search.ts';
import { destinationKindFor, ledgerKeys, newPayoutFrom, payoutInputFrom } from '../../payouts/service.ts';
import type { PayoutRecord, PayoutStore } from '../../payouts/store.ts';
import { toCsv } from '../../shared/csv.ts';
import { defineRoute, type Route, type RouteContext } from '../route.ts';
import { foreignPayee, payoutFilterQuery, payoutSearchQuery, searchOf } from '../schemas/payout-search.ts';
import {
  bulkBody,
  bulkIdSchema,
  bulkStatusView,
  bulkView,
  createPayoutBody,
  decisionBody,
  payoutIdSchema,
  payoutListView,
  payoutView,
  reasonBody,
  resolveBody,
} from './payout-schemas.ts';

export interface PayoutRouteDeps {
  gateway: PayoutGateway;
  bulks: BulkService;
  store: PayoutStore;
  ledger: Ledger;
  schema: string;
}

type Ctx = RouteContext<unknown, unknown, unknown>;

const idParams = z.strictObject({ id: payoutIdSchema });
const actorOf = (ctx: Ctx): Actor => ({ actor: ctx.principal.actor, role: ctx.principal.role });

const DECIDED =
  'Answers once the payout workflow has acted on the decision (ledger postings and the state recorded; ' +
  'provider calls are not waited for): the response shows the payout after it.';

/** One update per caller and Idempotency-Key (lease-mode routes always have one). */
export function decisionUpdateId(action: string, ctx: Ctx): string {
  const key = ctx.req.get('idempotency-key') ?? ctx.requestId;
  return `${action}:${createHash('sha256').update(`${ctx.principal.actor}\u0000${key}`).digest('hex').slice(0, 32)}`;
}

export function payoutRoutes(deps: PayoutRouteDeps): Route[] {
  const { gateway, store, ledger, bulks } = deps;

  async function loadVisible(ctx: Ctx, id: string): Promise<PayoutRecord> {
    const payout = await store.get(ctx.em, id);
    if (!payout) throw new ApiError('not_found', `Payout ${id} not found`);
    ctx.assertPayeeAccess(payout.payeeId, `Payout ${id} not found`);
    return payout;
  }

  /** The payout as the caller may see it: everything for API keys, `redactForPayee` for payee tokens. */
  async function view(ctx: Ctx, payout: PayoutRecord, live?: PayoutStatus, opts = { ledger: true }) {
    const full = await fullView(ctx.em, payout, live, opts);
    return ctx.principal.kind === 'payee_token' ? redactForPayee(full) : full;
  }

  async function fullView(
    em: EntityManager,
    payout: PayoutRecord,
    live: PayoutStatus | undefined,
    opts: { ledger: boolean },
  ) {
    const status = live ?? (payout.statusDoc as Partial<PayoutStatus>);
    const l = ledger.within(em);
    // fx / fx_return: a conversion the provider made (Wise), booked after the settlement; only when posted.
    const all = ['hold', 'settle', 'fx', 'release', 'fx_return', 'return'] as const;
    const steps = (opts.ledger ? all : []).map(async (step) => {
      const key =
        step === 'return'
          ? ledgerKeys.returned(payout.id)
          : step === 'fx_return'
            ? ledgerKeys.fxReturned(payout.id)
            : ledgerKeys[step](payout.id);
      const tx = await l.getTransaction(key);
      return tx ? { step, transactionId: tx.id, at: tx.createdAt } : undefined;
    });
    const money = (amount: string) => ({ amount, currency: payout.currency, scale: payout.scale });
    return {
      id: payout.id,
      payeeId: payout.payeeId,
      amount: money(payout.amount),
      method: payout.method,
      state: status.state ?? payout.status,
      rail: status.rail ?? payout.rail,
      provider: status.provider ?? payout.provider,
      fee: money(status.fee?.amount ?? payout.fee),
      withholding: money(status.withholding?.amount ?? payout.withholding),
      periodId: payout.periodId,
      bulkId: payout.bulkId,
      requestedBy: payout.requestedBy,
      approvalsRequired: status.approvalsRequired ?? 0,
      approvals: status.approvals ?? [],
      attempts: status.attempts ?? [],
      reasons: status.reasons ?? [],
      nextTimer: status.nextTimer ?? null,
      ledger: (await Promise.all(steps)).filter((s) => s !== undefined),
      live: live !== undefined,
      createdAt: payout.createdAt,
      updatedAt: payout.updatedAt,
    };
  }

  /**
   * A decision: an update the workflow answers once it acted on it, so the response shows the state after
   * the decision. The route runs in lease mode: no transaction is held while the workflow works, because the
   * workflow's own steps need the database meanwhile (on embedded PGlite, the only session). The update id
   * comes from the Idempotency-Key, so a request retried after it was lost is the same update.
   */
  async function afterDecision(
    ctx: Ctx,
    id: string,
    run: (updateId: string) => Promise<PayoutStatus>,
    action: string,
  ) {
    const payout = await loadVisible(ctx, id);
    let status: PayoutStatus;
    try {
      status = await run(decisionUpdateId(action, ctx));
    } catch (err) {
      if (err instanceof PayoutDecisionRefused) throw new ApiError('conflict', err.message);
      throw err;
    }
    await ctx.audit({ action, objectType: 'payout', objectId: id, details: { state: status.state } });
    return { status: 200, body: await view(ctx, payout, status) };
  }

  const decisionRoute = (decision: 'approve' | 'reject') =>
    defineRoute({
      method: 'post',
      path: `/v1/payouts/:id/${decision}`,
      summary: decision === 'approve' ? 'Approve a payout (TOTP)' : 'Reject a payout (TOTP)',
      description: DECIDED,
      tags: ['payouts'],
      roles: ['approver'],
      params: idParams,
      body: decisionBody,
      idempotencyMode: 'lease',
      responses: {
        200: { description: 'Decision recorded; the payout as it stands after it', schema: payoutView },
        409: { description: 'Refused now: not pending approval, requester, or already decided' },
      },
      handler: async (ctx) => {
        // A replayed request must not spend a second TOTP code: the key is this request's first.
        await ctx.untilKeyHeld();
        await ctx.verifyApproverTotp(ctx.body.totp);
        return afterDecision(
          ctx as Ctx,
          ctx.params.id,
          (updateId) =>
            gateway.decide(ctx.params.id, actorOf(ctx as Ctx), decision, ctx.body.reason, updateId),
          `payout.${decision}`,
        );
      },
    });

  return [
    defineRoute({
      method: 'post',
      path: '/v1/payouts',
      summary: 'Request a payout from a payee wallet',
      description:
        'Starts the durable payout workflow: reserve funds, compliance, risk, approval when above thresholds, ' +
        'instant or scheduled routing, provider submission with failover. Returns at once with the payout id; ' +
        'follow it with GET /v1/payouts/{id} or webhooks.',
      tags: ['payouts'],
      roles: ['platform', 'payee'],
      body: createPayoutBody,
      responses: { 202: { description: 'Payout accepted; processing has started', schema: payoutView } },
      // The acknowledgement is a workflow start: the key is leased rather than held in a transaction across
      // the start, and the handler is idempotent by payout id (derived from caller + key).
      idempotencyMode: 'lease',
      handler: async (ctx) => {
        const { body } = ctx;
        ctx.assertPayeeAccess(body.payeeId);
        // Normalised to the currency's own scale; everything below uses this, never the raw body.
        const amount = parseMoney(body.amount, { field: 'amount', allowZero: false });
        const payoutId = payoutIdFor(ctx.principal.actor, ctx.req.get('Idempotency-Key') ?? '');
        // One statement for what the request is checked against, run while the key is being claimed. The
        // acknowledgement waits for three steps: claim + facts, row + workflow start, stored answer.
        const [facts] = await Promise.all([
          requestFacts(ctx.em, deps.schema, body.payeeId, amount.currency, payoutId),
          ctx.untilKeyHeld(),
        ]);
        if (!facts) throw new ApiError('not_found', `Payee ${body.payeeId} not found`);
        if (facts.payoutExists) {
          // This caller's key already made this payout: an earlier attempt that died before answering, or one
          // whose stored answer was purged. Finish its start rather than checking again against funds it may
          // hold, unless the request asks for something else.
          const record = (await store.get(ctx.em, payoutId))!;
          if (
            record.amount !== amount.amount ||
            record.currency !== amount.currency ||
            record.payeeId !== body.payeeId ||
            (body.method !== undefined && body.method !== record.method) ||
            (body.instant ?? true) !== record.instantRequested ||
            (body.periodId ?? null) !== record.periodId
          ) {
            throw new ApiError(
              'idempotency_key_reused',
              `Idempotency-Key "${ctx.req.get('Idempotency-Key')}" already made payout ${payoutId} with other details; use a new key for a new payout`,
            );
          }
          await gateway.start(payoutInputFrom(record));
          return { status: 202, body: await view(ctx as Ctx, record, undefined, { ledger: false }) };
        }
        const method = body.method ?? methodFor(facts.preferredMethod);
        if (!method) {
          throw new ApiError('unprocessable', `Payee ${body.payeeId} has no preferred method; pass "method"`);
        }
        const kind = destinationKindFor[method];
        if (!facts.destinationKinds.includes(kind)) {
          throw new ApiError(
            'unprocessable',
            `Payee ${body.payeeId} has no ${kind} destination for a ${method} payout; PUT /v1/payees/${body.payeeId}/destinations/${kind} first`,
          );
        }
        if (BigInt(facts.available) < BigInt(amount.amount)) {
          const available = { amount: facts.available, currency: amount.currency, scale: amount.scale };
          throw new ApiError(
            'insufficient_funds',
            `Available ${formatDecimal(available)} ${amount.currency} is less than the requested ${formatDecimal(amount)}; credit the wallet or request less`,
          );
        }
        const input = {
          payoutId,
          payeeId: body.payeeId,
          amount,
          method,
          instantRequested: body.instant ?? true,
          requestedBy: actorOf(ctx as Ctx),
          ...(body.periodId ? { periodId: body.periodId } : {}),
        };
        // The row and the workflow do not wait for each other: both are idempotent by payout id, and the
        // workflow writes the same row first thing (before it holds funds). If either fails, the retry
        // sees the row and finishes the start, or finds neither and does it all again.
        const [inserted] = await Promise.all([
          store.insertReturning(ctx.em, newPayoutFrom(input)),
          gateway.start(input),
        ]);
        // No row inserted: the workflow wrote it first.
        const record = inserted ?? (await store.get(ctx.em, payoutId));
        // Just accepted: no ledger posting can be committed yet.
        return { status: 202, body: await view(ctx as Ctx, record!, undefined, { ledger: false }) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payouts/bulk',
      summary: 'Pay out the full available balance of every payee matching criteria',
      description:
        'Commits a snapshot of the matching payees (each paid its whole available balance; excluded payees and ' +
        'those without a destination for the method are skipped, with why) and starts the bulk workflow ' +
        '`bulk-<bulkId>`, which starts the payouts in waves and finishes even if this request does not. ' +
        'Follow it with GET /v1/payouts/bulk/{bulkId} or the payout.bulk_completed webhook.',
      tags: ['payouts'],
      roles: ['platform', 'operator'],
      body: bulkBody,
      responses: {
        202: { description: 'Bulk accepted; its workflow is starting the payouts', schema: bulkView },
      },
      // The acknowledgement is a workflow start: the snapshot is idempotent by bulk id (derived from caller +
      // key) and the start by workflow id, so a request that died mid-way is finished by its retry.
      idempotencyMode: 'lease',
      handler: async (ctx) => {
        const { body } = ctx;
        currencyOf(body.currency);
        const requestKey = ctx.req.get('Idempotency-Key') ?? '';
        const actor = actorOf(ctx as Ctx);
        const bulkId = payoutIdFor(actor.actor, `bulk:${requestKey}`).replace(/^po_/, 'bulk_');
        await ctx.untilKeyHeld();
        try {
          await bulks.snapshot(ctx.em, {
            bulkId,
            criteria: body,
            requestedBy: actor,
            payoutIdOf: (payeeId) => payoutIdFor(actor.actor, `bulk:${requestKey}:${payeeId}`),
            audit: {
              ...actor,
              action: 'payout.bulk',
              objectType: 'bulk',
              objectId: bulkId,
              requestId: ctx.requestId,
            },
          });
        } catch (err) {
          if (!(err instanceof BulkCriteriaMismatch)) throw err;
          throw new ApiError(
            'idempotency_key_reused',
            `Idempotency-Key "${requestKey}" already requested bulk ${bulkId} with other criteria; use a new key for a new bulk`,
          );
        }
        await gateway.startBulk(bulkId);
        const status = (await bulks.get(ctx.em, bulkId))!;
        return { status: 202, body: { ...status, created: await bulks.payouts(ctx.em, bulkId) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payouts/bulk/:id/cancel',
      summary: 'Cancel a bulk: start no more of its payouts, cancel those not yet with a provider',
      description:
        'Payouts of the bulk not started yet are dropped (listed as skipped); started ones still waiting ' +
        '(approval, payout window, compliance) are cancelled with their funds released; those already submitted ' +
        'to a provider run to their end. Carried out by the bulk workflow; follow with GET /v1/payouts/bulk/{id}.',
      tags: ['payouts'],
      roles: ['platform', 'operator'],
      params: z.strictObject({ id: bulkIdSchema }),
      body: reasonBody,
      // As the payout decisions: no transaction held across the workflow update.
      idempotencyMode: 'lease',
      responses: {
        202: { description: 'Cancel accepted; the bulk workflow is carrying it out', schema: bulkStatusView },
        409: { description: 'Refused now: already cancelled, or nothing left to start or in flight' },
      },
      handler: async (ctx) => {
        const bulk = await bulks.get(ctx.em, ctx.params.id);
        if (!bulk) throw new ApiError('not_found', `Bulk ${ctx.params.id} not found`);
        await ctx.untilKeyHeld();
        let progress: BulkProgress;
        try {
          progress = await gateway.cancelBulk(
            ctx.params.id,
            actorOf(ctx as Ctx),
            ctx.body.reason,
            decisionUpdateId('payout.bulk_cancel', ctx as Ctx),
          );
        } catch (err) {
          if (err instanceof PayoutDecisionRefused) throw new ApiError('conflict', err.message);
          throw err;
        }
        await ctx.audit({
          action: 'payout.bulk_cancel',
          objectType: 'bulk',
          objectId: ctx.params.id,
          details: { reason: ctx.body.reason },
        });
        // The workflow records the cancel in the database when it carries it out; until then its answer says it.
        return {
          status: 202,
          body: { ...bulk, cancellation: bulk.cancellation ?? progress.cancellation ?? null },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payouts/bulk/:id',
      summary: 'A bulk payout request and how its payouts stand',
      tags: ['payouts'],
      roles: ['platform', 'operator'],
      params: z.strictObject({ id: bulkIdSchema }),
      responses: { 200: { description: 'The bulk request', schema: bulkStatusView } },
      handler: async (ctx) => {
        const bulk = await bulks.get(ctx.em, ctx.params.id);
        if (!bulk) throw new ApiError('not_found', `Bulk ${ctx.params.id} not found`);
        return { status: 200, body: bulk };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payouts',
      summary: 'List payouts (newest first, cursor-paginated)',
      tags: ['payouts'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      description:
        'Operator search: every filter narrows the list (state, payee, period, bulk, provider, amount range in ' +
        'minor units of one currency, creation time range). Pages follow the same order whatever arrives meanwhile.',
      query: payoutSearchQuery,
      responses: { 200: { description: 'A page of payouts', schema: payoutListView } },
      handler: async (ctx) => {
        const foreign = foreignPayee(ctx.query, ctx.principal);
        if (foreign) throw new ApiError('not_found', `Payee ${foreign} not found`);
        const { cursor, limit } = ctx.query;
        const page = await searchPayouts(ctx.em, deps.schema, {
          ...searchOf(ctx.query, ctx.principal),
          ...(cursor ? { cursor } : {}),
          limit: limit ?? 50,
        });
        return {
          status: 200,
          body: {
            items: await Promise.all(page.items.map((p) => view(ctx as Ctx, p))),
            nextCursor: page.nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payouts/export.csv',
      summary: 'Export payouts as CSV (operators, offline reconciliation)',
      tags: ['payouts'],
      roles: ['platform', 'operator'],
      query: payoutFilterQuery,
      responses: { 200: { description: 'RFC 4180 CSV, one payout per row', contentType: 'text/csv' } },
      handler: async (ctx) => {
        const rows = await searchAllPayouts(ctx.em, deps.schema, searchOf(ctx.query, ctx.principal));
        const dec = (p: PayoutRecord, minor: string) =>
          formatDecimal({ amount: minor, currency: p.currency, scale: p.scale });
        const csv = toCsv([
          [
            'payout_id',
            'payee_id',
            'amount',
            'currency',
            'fee',
            'withholding',
            'method',
            'status',
            'rail',
            'provider',
            'period_id',
            'bulk_id',
            'requested_by',
            'created_at',
            'updated_at',
          ],
          ...rows.map((p) => [
            p.id,
            p.payeeId,
            dec(p, p.amount),
            p.currency,
            dec(p, p.fee),
            dec(p, p.withholding),
            p.method,
            p.status,
            p.rail ?? '',
            p.provider ?? '',
            p.periodId ?? '',
            p.bulkId ?? '',
            p.requestedBy,
            p.createdAt,
            p.updatedAt,
          ]),
        ]);
        return {
          status: 200,
          body: csv,
          headers: { 'content-disposition': 'attachment; filename="payouts.csv"' },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payouts/:id',
      summary: 'A payout with its live workflow state and ledger postings',
      tags: ['payouts'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      params: idParams,
      responses: { 200: { description: 'The payout', schema: payoutView } },
      handler: async (ctx) => {
        const payout = await loadVisible(ctx as Ctx, ctx.params.id);
        let live: PayoutStatus | undefined;
        try {
          live = await gateway.status(payout.id);
        } catch (err) {
          ctx.log.warn('payout.status_query_failed', { payoutId: payout.id, error: String(err) });
        }
        // A return reported after the workflow closed is recorded on the payout (late-return.ts); the closed
        // workflow still answers `paid`.
        if (live?.state === 'paid' && payout.status === 'returned') live = undefined;
        return { status: 200, body: await view(ctx as Ctx, payout, live) };
      },
    }),
    decisionRoute('approve'),
    decisionRoute('reject'),
    defineRoute({
      method: 'post',
      path: '/v1/payouts/:id/cancel',
      summary: 'Cancel a payout not yet submitted to a provider (funds released)',
      description: DECIDED,
      tags: ['payouts'],
      roles: ['platform', 'operator', 'payee'],
      params: idParams,
      body: reasonBody,
      idempotencyMode: 'lease',
      responses: {
        200: { description: 'Cancelled: the payout as it stands after it', schema: payoutView },
        409: { description: 'Already submitted to a provider, or finished' },
      },
      handler: async (ctx) => {
        await ctx.untilKeyHeld();
        return afterDecision(
          ctx as Ctx,
          ctx.params.id,
          (updateId) => gateway.cancel(ctx.params.id, actorOf(ctx as Ctx), ctx.body.reason, updateId),
          'payout.cancel',
        );
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payouts/:id/compliance-clear',
      summary: 'Clear a compliance hold after review (operator)',
      description: DECIDED,
      tags: ['payouts'],
      roles: ['operator'],
      params: idParams,
      body: reasonBody,
      idempotencyMode: 'lease',
      responses: {
        200: { description: 'Cleared; the payout as it stands after it went on', schema: payoutView },
        409: { description: 'Not on compliance hold, or finished' },
      },
      handler: async (ctx) => {
        await ctx.untilKeyHeld();
        return afterDecision(
          ctx as Ctx,
          ctx.params.id,
          (updateId) =>
            gateway.clearCompliance(ctx.params.id, actorOf(ctx as Ctx), ctx.body.reason, updateId),
          'payout.compliance_clear',
        );
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payouts/:id/resolve',
      summary: 'Resolve an unknown provider outcome (operator, after checking with the provider)',
      tags: ['payouts'],
      roles: ['operator'],
      params: idParams,
      body: resolveBody,
      description: DECIDED,
      idempotencyMode: 'lease',
      responses: {
        200: { description: 'Verdict recorded; the payout as it stands after it', schema: payoutView },
      },
      handler: async (ctx) => {
        await ctx.untilKeyHeld();
        return afterDecision(
          ctx as Ctx,
          ctx.params.id,
          (updateId) =>
            gateway.resolveUnknownOutcome(
              ctx.params.id,
              {
                by: actorOf(ctx as Ctx),
                outcome: ctx.body.outcome,
                reason: ctx.body.reason,
                ...(ctx.body.force ? { force: true } : {}),
              },
              updateId,
            ),
          'payout.resolve_unknown_outcome',
        );
      },
    }),
  ];
}

function methodFor(kind: string | null): 'bank_transfer' | 'wallet' | 'card' | 'crypto' | undefined {
  const entry = Object.entries(destinationKindFor).find(([, k]) => k === kind);
  return entry?.[0] as 'bank_transfer' | 'wallet' | 'card' | 'crypto' | undefined;
}

/** What a payout request is checked against: the payee's preferred method, destination kinds, available balance. */
async function requestFacts(
  em: EntityManager,
  schema: string,
  payeeId: string,
  currency: string,
  payoutId: string,
) {
  const rows = await sql<{
    preferred_method: string | null;
    kinds: string[];
    available: string;
    payout_exists: boolean;
  }>(
    em,
    `SELECT p.preferred_method,
            EXISTS (SELECT 1 FROM "${schema}".payouts o WHERE o.id = $3) AS payout_exists,
            ARRAY(SELECT d.kind FROM "${schema}".payee_destinations d WHERE d.payee_id = p.id) AS kinds,
            COALESCE((SELECT a.balance FROM "${schema}".ledger_accounts a
                       WHERE a.owner = p.id AND a.kind = 'payee_available' AND a.currency = $2), 0)::text
              AS available
       FROM "${schema}".payees p WHERE p.id = $1`,
    [payeeId, currency, payoutId],
  );
  const r = rows[0];
  return r
    ? {
        preferredMethod: r.preferred_method,
        destinationKinds: r.kinds,
        available: r.available,
        payoutExists: r.payout_exists,
      }
    : undefined;
}
