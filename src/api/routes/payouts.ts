// Payout routes: request (single and bulk), read live state, list and export, approve/reject, cancel,
// clear a compliance hold, resolve an unknown provider outcome. Each decision is an update to the payout's
// workflow; the workflow's validators refuse what is not allowed now (409 with its reason).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { BulkProgress } from '../../../workflows/bulk-contract.ts';
import type { Actor } from '../../auth/actor.ts';
import { ApiError } from '../../http/errors.ts';
import { currencyOf, parseMoney } from '../../money/index.ts';
import { admissionFacts, admit } from '../../payouts/admission.ts';
import { BulkCriteriaMismatch, type BulkService } from '../../payouts/bulk.ts';
import { payoutsCsv } from '../../payouts/export.ts';
import {
  PayoutDecisionRefused,
  type PayoutGateway,
  PayoutWorkflowClosed,
  payoutIdFor,
} from '../../payouts/gateway.ts';
import { searchAllPayouts, searchPayouts } from '../../payouts/search.ts';
import { newPayoutFrom, payoutInputFrom } from '../../payouts/service.ts';
import type { PayoutStateDoc } from '../../payouts/state.ts';
import type { PayoutRecord, PayoutStore } from '../../payouts/store.ts';
import { payoutView, postingsOf } from '../../payouts/views.ts';
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
  payoutView as payoutViewSchema,
  reasonBody,
  resolveBody,
} from './payout-schemas.ts';

export interface PayoutRouteDeps {
  gateway: PayoutGateway;
  bulks: BulkService;
  store: PayoutStore;
  schema: string;
}

type Ctx = RouteContext<unknown, unknown, unknown>;

const idParams = z.strictObject({ id: payoutIdSchema });
const actorOf = (ctx: Ctx): Actor => ({ actor: ctx.principal.actor, role: ctx.principal.role });

const DECIDED =
  'Answers once the payout workflow has acted on the decision (ledger postings and the state recorded; ' +
  'provider calls are not waited for): the response shows the payout after it. A payout whose workflow ' +
  'has closed, before or while the decision reached it, is refused (409) with the state its record ended in.';

/** One update per caller and Idempotency-Key (lease-mode routes always have one). */
export function decisionUpdateId(action: string, ctx: Ctx): string {
  const key = ctx.req.get('idempotency-key') ?? ctx.requestId;
  return `${action}:${createHash('sha256').update(`${ctx.principal.actor}\u0000${key}`).digest('hex').slice(0, 32)}`;
}

export function payoutRoutes(deps: PayoutRouteDeps): Route[] {
  const { gateway, store, bulks } = deps;

  async function loadVisible(ctx: Ctx, id: string): Promise<PayoutRecord> {
    const payout = await store.get(ctx.em, id);
    if (!payout) throw new ApiError('not_found', `Payout ${id} not found`);
    ctx.assertPayeeAccess(payout.payeeId, `Payout ${id} not found`);
    return payout;
  }

  /** The payouts as the caller may see them: everything for API keys, redacted for payee tokens. */
  async function views(ctx: Ctx, payouts: readonly PayoutRecord[], live?: PayoutStateDoc) {
    const postings = await postingsOf(
      ctx.em,
      deps.schema,
      payouts.map((p) => p.id),
    );
    const forPayee = ctx.principal.kind === 'payee_token';
    return payouts.map((p) => payoutView(p, { postings: postings.get(p.id) ?? [], live, forPayee }));
  }
  const view = async (ctx: Ctx, payout: PayoutRecord, live?: PayoutStateDoc) =>
    (await views(ctx, [payout], live))[0]!;
  /** Just accepted: no ledger posting can be committed yet. */
  const accepted = (ctx: Ctx, payout: PayoutRecord) =>
    payoutView(payout, { postings: [], forPayee: ctx.principal.kind === 'payee_token' });

  /**
   * A decision: an update the workflow answers once it acted on it, so the response shows the state after
   * the decision. The route runs in lease mode: no transaction is held while the workflow works, because the
   * workflow's own steps need the database meanwhile (on embedded PGlite, the only session). The update id
   * comes from the Idempotency-Key, so a request retried after it was lost is the same update.
   */
  async function afterDecision(
    ctx: Ctx,
    id: string,
    run: (updateId: string) => Promise<PayoutStateDoc>,
    action: string,
  ) {
    const payout = await loadVisible(ctx, id);
    let status: PayoutStateDoc;
    try {
      status = await run(decisionUpdateId(action, ctx));
    } catch (err) {
      if (err instanceof PayoutWorkflowClosed) {
        // Closed before or while the decision was taken: the row, which the workflow's last step wrote,
        // says where the payout ended.
        const ended = (await store.get(ctx.em, id))?.state ?? payout.state;
        throw new ApiError('conflict', `${err.message} (the payout is ${ended})`);
      }
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
        200: { description: 'Decision recorded; the payout as it stands after it', schema: payoutViewSchema },
        409: { description: 'Refused now: not pending approval, requester, or already decided' },
      },
      handler: async (ctx) => {
        // A replayed request must not spend a second TOTP code: the key is this request's first.
        await ctx.untilKeyHeld();
        return afterDecision(
          ctx as Ctx,
          ctx.params.id,
          async (updateId) => {
            // A retry after a 503 (the decision sent, its answer not known) is the same request (caller, key
            // and body, TOTP code included), whose code its first try checked and spent: not checked again.
            const sent = await gateway.sentDecision(ctx.params.id, updateId);
            if (sent) return sent;
            await ctx.verifyApproverTotp(ctx.body.totp);
            return gateway.decide(ctx.params.id, actorOf(ctx as Ctx), decision, ctx.body.reason, updateId);
          },
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
        'Starts the durable payout workflow: hold the funds, compliance, risk, approval when above thresholds, ' +
        'instant or scheduled routing, provider submission with failover. Returns at once with the payout id; ' +
        'follow it with GET /v1/payouts/{id} or webhooks.',
      tags: ['payouts'],
      roles: ['platform', 'payee'],
      body: createPayoutBody,
      responses: {
        202: { description: 'Payout accepted; processing has started', schema: payoutViewSchema },
      },
      // The acknowledgement is a workflow start: the key is leased rather than held in a transaction across
      // the start, and the handler is idempotent by payout id (derived from caller + key).
      idempotencyMode: 'lease',
      handler: async (ctx) => {
        const { body } = ctx;
        ctx.assertPayeeAccess(body.payeeId);
        const requestKey = ctx.req.get('Idempotency-Key') ?? '';
        const request = {
          payoutId: payoutIdFor(ctx.principal.actor, requestKey),
          payeeId: body.payeeId,
          // Normalised to the currency's own scale; everything below uses this, never the raw body.
          amount: parseMoney(body.amount, { field: 'amount', allowZero: false }),
          method: body.method,
          instant: body.instant,
          periodId: body.periodId,
          requestedBy: actorOf(ctx as Ctx),
          requestKey,
        };
        // What the request is checked against is read while the key is being claimed.
        const [facts] = await Promise.all([
          admissionFacts(ctx.em, deps.schema, { ...request, currency: request.amount.currency }),
          ctx.untilKeyHeld(),
        ]);
        const admission = admit(request, facts);
        if (admission.kind === 'existing') {
          await gateway.start(payoutInputFrom(admission.record));
          return { status: 202, body: accepted(ctx as Ctx, admission.record) };
        }
        // The row first, then the workflow, which reads it: the row is written here only. A request that
        // died in between is finished by its retry (the `existing` path above).
        const record =
          (await store.insertReturning(ctx.em, newPayoutFrom(admission.input))) ??
          (await store.get(ctx.em, admission.input.payoutId))!;
        await gateway.start(admission.input);
        return { status: 202, body: accepted(ctx as Ctx, record) };
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
        'minor units of one currency, creation time range). Pages follow the same order whatever arrives meanwhile. ' +
        'The state filter is `state` (e.g. ?state=unknown_outcome,review); it was `status` before 1.0 and that ' +
        'name is refused (400), not kept as an alias.',
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
            items: await views(ctx as Ctx, page.items),
            nextCursor: page.nextCursor,
          },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payouts/export.csv',
      summary: 'Export payouts as CSV (operators, offline reconciliation)',
      description: 'The filters of GET /v1/payouts (`state`, not the pre-1.0 `status`), without paging.',
      tags: ['payouts'],
      roles: ['platform', 'operator'],
      query: payoutFilterQuery,
      responses: { 200: { description: 'RFC 4180 CSV, one payout per row', contentType: 'text/csv' } },
      handler: async (ctx) => {
        const rows = await searchAllPayouts(ctx.em, deps.schema, searchOf(ctx.query, ctx.principal));
        const csv = payoutsCsv(rows);
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
      summary: 'A payout with its state and ledger postings',
      description:
        "Read from the payout's record, which each workflow step updates as it commits; live is false. " +
        'GET /v1/payouts/{id}/history shows the workflow itself.',
      tags: ['payouts'],
      roles: ['platform', 'operator', 'approver', 'payee'],
      params: idParams,
      responses: { 200: { description: 'The payout', schema: payoutViewSchema } },
      handler: async (ctx) => {
        // The record is the read model (the workflow's steps write it): no workflow query, open or closed.
        const payout = await loadVisible(ctx as Ctx, ctx.params.id);
        return { status: 200, body: await view(ctx as Ctx, payout) };
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
        200: { description: 'Cancelled: the payout as it stands after it', schema: payoutViewSchema },
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
        200: { description: 'Cleared; the payout as it stands after it went on', schema: payoutViewSchema },
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
        200: { description: 'Verdict recorded; the payout as it stands after it', schema: payoutViewSchema },
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
