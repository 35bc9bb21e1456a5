// The payout workflow's decisions, property-tested without a server: the transition table (final states
// stay final, webhook names match the states they enter, every state is reachable), approvals, decision
// validation, how failures and provider answers count, backoffs and the data-error review.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { Actor } from '../../src/auth/actor.ts';
import {
  type AttemptRecord,
  FINAL_STATES,
  PAYOUT_STATES,
  type PayoutState,
  type PayoutStateDoc,
  UNPAID_OUTCOMES,
} from '../../src/payouts/state.ts';
import { PAYOUT_NOTICES, PAYOUT_WEBHOOK_EVENTS } from '../../src/webhooks/events.ts';
import { PayoutFailure, type ProviderStatusOutcome } from '../../workflows/payout-activities.ts';
import {
  approvalOutcome,
  backoff,
  CANCELLABLE,
  classifySubmitFailure,
  dataErrorReview,
  judgeProviderEvent,
  MAX_OUTAGE_BACKOFF_MS,
  nextState,
  outageWait,
  type PayoutEvent,
  refuseApproval,
  refuseCancel,
  refuseResolution,
  statusVerdict,
  stopVerdict,
  TRANSITIONS,
  withoutFreeText,
} from '../../workflows/payout-decisions.ts';
import { unstorableText } from '../../workflows/text.ts';

const EVENTS = Object.keys(TRANSITIONS) as PayoutEvent[];
const state = fc.constantFrom(...PAYOUT_STATES);
const event = fc.constantFrom(...EVENTS);
const OUTCOMES: AttemptRecord['outcome'][] = [
  'submitting',
  'pending',
  'paid',
  'declined',
  'outage',
  'failed',
  'unknown',
  'not_paid',
];
const outcome = fc.constantFrom(...OUTCOMES);
const actorName = fc.constantFrom('alice', 'bob', 'carol', 'dave', 'requester');
const role = fc.constantFrom<Actor['role']>('platform', 'approver', 'operator', 'payee');
const PROVIDERS = ['alpha', 'beta', 'gamma'];

const attempts = fc.array(fc.tuple(fc.constantFrom(...PROVIDERS), outcome), { maxLength: 4 }).map((xs) =>
  xs.map(
    ([provider, o], i): AttemptRecord => ({
      attemptNo: i + 1,
      provider,
      idempotencyKey: `po_x:${i + 1}`,
      outcome: o,
    }),
  ),
);

const statusOf = (s: PayoutState, extra: Partial<PayoutStateDoc> = {}): PayoutStateDoc => ({
  payoutId: 'po_x',
  payeeId: 'pe_x',
  state: s,
  amount: { amount: '100', currency: 'USD', scale: 2 },
  attempts: [],
  approvals: [],
  approvalsRequired: 0,
  reasons: [],
  ...extra,
});

describe('transition table', () => {
  it('a final payout stays final: only paid can still become returned, and notices change nothing', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FINAL_STATES), event, (s, e) => {
        const next = nextState(s, e);
        if (!next) return;
        if (next.notice) expect(next.state).toBe(s);
        else expect([s, next.state, e]).toEqual(['paid', 'returned', 'return']);
      }),
    );
  });

  it('every state change sends the event named after the state it enters; notices keep the state', () => {
    fc.assert(
      fc.property(state, event, (s, e) => {
        const next = nextState(s, e);
        if (!next) return;
        if (next.notice) {
          expect(next.state).toBe(s);
          if (next.webhook) expect(PAYOUT_NOTICES).toContain(next.webhook);
          return;
        }
        if (next.webhook) {
          expect(next.webhook).toBe(`payout.${next.state}`);
          expect(PAYOUT_WEBHOOK_EVENTS[next.webhook]).toMatchObject({ enters: next.state });
        }
      }),
    );
  });

  it('the catalogue names each state event after its state, and lists every event the table sends', () => {
    for (const [name, spec] of Object.entries(PAYOUT_WEBHOOK_EVENTS)) {
      const enters = (spec as { enters?: string }).enters;
      if (enters) expect(name).toBe(`payout.${enters}`);
      else expect(PAYOUT_NOTICES).toContain(name);
    }
    const sent = new Set(EVENTS.map((e) => TRANSITIONS[e].webhook).filter(Boolean));
    expect([...sent].sort()).toEqual(Object.keys(PAYOUT_WEBHOOK_EVENTS).sort());
  });

  it('every state is reachable from requested, and every open state can still end', () => {
    const reach = (from: PayoutState) => {
      const seen = new Set<PayoutState>([from]);
      const queue = [from];
      while (queue.length) {
        const s = queue.shift()!;
        for (const e of EVENTS) {
          const next = nextState(s, e)?.state;
          if (next && !seen.has(next)) {
            seen.add(next);
            queue.push(next);
          }
        }
      }
      return seen;
    };
    expect([...reach('requested')].sort()).toEqual([...PAYOUT_STATES].sort());
    for (const s of PAYOUT_STATES.filter((x) => !FINAL_STATES.includes(x))) {
      expect(FINAL_STATES.some((f) => reach(s).has(f))).toBe(true);
    }
  });

  it('a random walk only ever takes allowed transitions and never leaves a final state', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 40 }), (events) => {
        let s: PayoutState = 'requested';
        for (const e of events) {
          const next = nextState(s, e);
          if (!next) continue;
          expect(TRANSITIONS[e].from).toContain(s);
          if (FINAL_STATES.includes(s) && !next.notice) expect(s).toBe('paid');
          s = next.state;
        }
      }),
    );
  });

  it('a cancel is taken exactly before any provider holds an attempt', () => {
    for (const s of PAYOUT_STATES) {
      expect(nextState(s, 'cancel') !== undefined).toBe(CANCELLABLE.includes(s));
    }
    expect(CANCELLABLE).not.toEqual(expect.arrayContaining(['submitting']));
  });
});

describe('approvals', () => {
  const approvals = fc.array(
    fc.record({
      actor: actorName,
      decision: fc.constantFrom<'approve' | 'reject'>('approve', 'approve', 'reject'),
      reason: fc.string(),
      at: fc.constant('2026-01-01T00:00:00.000Z'),
    }),
    { maxLength: 6 },
  );

  it('approved iff nobody rejected and enough distinct approvers; a rejection always wins', () => {
    fc.assert(
      fc.property(approvals, fc.integer({ min: 0, max: 3 }), fc.boolean(), (list, required, timedOut) => {
        const out = approvalOutcome({ approvals: list, approvalsRequired: required }, timedOut);
        const rejected = list.some((a) => a.decision === 'reject');
        const distinct = new Set(list.filter((a) => a.decision === 'approve').map((a) => a.actor)).size;
        if (rejected) expect(out).toMatchObject({ code: 'approval_rejected' });
        else if (distinct >= required) expect(out).toBe('approved');
        else
          expect(out).toEqual(timedOut ? expect.objectContaining({ code: 'approval_timeout' }) : 'waiting');
      }),
    );
  });

  it('refuses the requester, other roles, a second decision, another state and a NUL; takes the rest', () => {
    fc.assert(
      fc.property(
        state,
        actorName,
        role,
        fc.string({ maxLength: 8 }),
        approvals,
        (s, who, r, reason, list) => {
          const requester = { actor: 'requester', role: 'platform' as const };
          const st = statusOf(s, { approvals: list });
          const why = refuseApproval(st, requester, {
            approver: { actor: who, role: r },
            decision: 'approve',
            reason,
          });
          const ok =
            r === 'approver' &&
            who !== 'requester' &&
            s === 'pending_approval' &&
            !list.some((a) => a.actor === who) &&
            reason.trim() !== '' &&
            unstorableText('reason', reason) === undefined;
          expect(why === undefined).toBe(ok);
        },
      ),
    );
  });
});

describe('decisions callers send', () => {
  it('a cancel is taken only while cancellable, once, from the requester, an operator or the platform', () => {
    fc.assert(
      fc.property(state, actorName, role, fc.boolean(), (s, who, r, already) => {
        const requester = { actor: 'requester', role: 'payee' as const };
        const why = refuseCancel(
          statusOf(s),
          requester,
          { by: { actor: who, role: r }, reason: 'x' },
          already,
        );
        const allowed = r === 'operator' || r === 'platform' || who === 'requester';
        expect(why === undefined).toBe(allowed && CANCELLABLE.includes(s) && !already);
      }),
    );
  });

  it('force is taken only for a not-paid verdict on the attempt whose verdict was refused', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<PayoutState>('unknown_outcome', 'review'),
        fc.constantFrom<'paid' | 'not_paid'>('paid', 'not_paid'),
        fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        (s, verdict, refused) => {
          const st = statusOf(s, {
            attempts: [{ attemptNo: 2, provider: 'alpha', idempotencyKey: 'po_x:2', outcome: 'unknown' }],
          });
          const why = refuseResolution(
            st,
            { by: { actor: 'olga', role: 'operator' }, outcome: verdict, reason: 'x', force: true },
            refused,
          );
          expect(why === undefined).toBe(verdict === 'not_paid' && refused === 2);
        },
      ),
    );
  });
});

describe('attempt outcomes', () => {
  it('a submission failure counts as not paid only when the provider said so; anything else is unknown', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...Object.values(PayoutFailure)), fc.string()), (type) => {
        const c = classifySubmitFailure(type);
        const known: Record<string, string> = {
          [PayoutFailure.providerDeclined]: 'declined',
          [PayoutFailure.providerOutage]: 'outage',
          [PayoutFailure.destinationChanged]: 'destination_changed',
          [PayoutFailure.databaseUnavailable]: 'database',
        };
        expect(c).toBe(Object.hasOwn(known, type) ? known[type] : 'unknown');
      }),
    );
    expect(classifySubmitFailure(undefined)).toBe('unknown');
  });

  it('a status decides only paid, failed, returned, or a voided unknown key', () => {
    const status = fc.record({
      state: fc.constantFrom<ProviderStatusOutcome['state']>(
        'not_found',
        'pending',
        'paid',
        'failed',
        'returned',
      ),
      reason: fc.option(fc.string(), { nil: undefined }),
    });
    fc.assert(
      fc.property(status, fc.boolean(), (s, unknown) => {
        const v = statusVerdict(s, unknown);
        if (s.state === 'pending' || (s.state === 'not_found' && !unknown)) expect(v).toBeUndefined();
        else if (s.state === 'paid' || s.state === 'returned') expect(v?.outcome).toBe('paid');
        else expect(v?.outcome).toBe(s.state === 'failed' ? 'failed' : 'not_paid');
        expect(v?.returned === true).toBe(s.state === 'returned');
        const stop = stopVerdict(s);
        expect(stop).toBe(
          s.state === 'paid' || s.state === 'returned'
            ? 'paid'
            : s.state === 'pending'
              ? 'unstoppable'
              : 'stopped',
        );
      }),
    );
  });

  it('after a data error, funds are released only when no attempt handed to a provider may have paid', () => {
    fc.assert(
      fc.property(attempts, fc.array(fc.integer({ min: 1, max: 4 })), (list, sentNos) => {
        const sent = new Set(sentNos);
        const review = dataErrorReview(statusOf('submitting', { attempts: list }), sent);
        const maybePaid = list.some((a) => sent.has(a.attemptNo) && !UNPAID_OUTCOMES.includes(a.outcome));
        expect(review.release).toBe(!maybePaid);
        for (const [i, a] of review.attempts.entries()) {
          const before = list[i]!;
          if (!sent.has(a.attemptNo) && before.outcome === 'submitting') expect(a.outcome).toBe('not_paid');
          else expect(a).toEqual(before);
        }
      }),
    );
  });

  it('a status without free text keeps no caller-given text', () => {
    fc.assert(
      fc.property(attempts, fc.string({ minLength: 1 }), (list, text) => {
        const st = statusOf('review', {
          attempts: list.map((a) => ({ ...a, detail: text })),
          approvals: [{ actor: 'alice', decision: 'approve', reason: text, at: 'now' }],
          reasons: [
            { code: 'cancelled', message: text },
            { code: 'data_error', message: 'step x failed' },
          ],
        });
        const bare = withoutFreeText(st);
        expect(bare.attempts.every((a) => a.detail === undefined)).toBe(true);
        expect(bare.approvals[0]!.reason).toBe('');
        expect(bare.reasons).toEqual([
          { code: 'cancelled', message: '' },
          { code: 'data_error', message: 'step x failed' },
        ]);
      }),
    );
  });
});

describe('the double-payment check', () => {
  it('another provider never speaks for an attempt; paid for an attempt counted unpaid needs reconciling', () => {
    fc.assert(
      fc.property(
        state,
        attempts,
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom<'paid' | 'failed' | 'returned'>('paid', 'failed', 'returned'),
        fc.option(fc.constantFrom(...PROVIDERS), { nil: undefined }),
        (s, list, no, type, provider) => {
          const key = `po_x:${no}`;
          const judged = judgeProviderEvent(
            { state: s, attempts: list },
            { idempotencyKey: key, type, provider },
          );
          const attempt = list.find((a) => a.idempotencyKey === key);
          if (provider !== undefined && attempt?.provider !== provider) {
            expect(judged).toEqual({ take: false, why: expect.any(String) });
            return;
          }
          const counted = attempt !== undefined && UNPAID_OUTCOMES.includes(attempt.outcome);
          const reconcile =
            type === 'paid' && attempt?.outcome !== 'paid' && (counted || FINAL_STATES.includes(s));
          expect(judged.reconcile !== undefined).toBe(reconcile);
          expect(judged.take).toBe(!reconcile);
          if (reconcile) expect(judged.reconcile?.code).toBe('reconcile_required');
        },
      ),
    );
  });
});

describe('waits', () => {
  it('backoff doubles up to its cap and never shrinks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        (cur, max) => {
          const next = backoff(cur, max);
          expect(next).toBeGreaterThanOrEqual(cur);
          expect(next).toBeLessThanOrEqual(Math.max(cur, max));
          expect(next).toBeLessThanOrEqual(cur * 2);
        },
      ),
    );
  });

  it('outage waits never pass the deadline, add up to at most the time left, and give up after it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3_600_000 }),
        fc.integer({ min: 0, max: 48 * 3_600_000 }),
        (firstMs, deadlineIn) => {
          const start = 1_000_000;
          let now = start;
          let previousMs: number | undefined;
          for (let i = 0; i < 500; i++) {
            const wait = outageWait({ firstMs, previousMs, deadline: start + deadlineIn, now });
            if (wait === 'give_up') {
              expect(now).toBeGreaterThanOrEqual(start + deadlineIn);
              return;
            }
            expect(wait.waitMs).toBeGreaterThan(0);
            expect(wait.waitMs).toBeLessThanOrEqual(Math.max(firstMs, MAX_OUTAGE_BACKOFF_MS));
            expect(wait.nextMs).toBeLessThanOrEqual(MAX_OUTAGE_BACKOFF_MS);
            now += wait.waitMs;
            expect(now).toBeLessThanOrEqual(start + deadlineIn);
            previousMs = wait.nextMs;
          }
          throw new Error('never gave up');
        },
      ),
    );
  });
});
