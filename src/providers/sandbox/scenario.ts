// Sandbox behaviour, per provider instance (SandboxScenario) and per payout (magic values). See README.md.
import { createHash } from 'node:crypto';

export interface SandboxScenario {
  /** Seed for the deterministic "random" outcomes (same seed + idempotency key → same outcome). */
  seed: number;
  /** Delay before submit answers, and before an asynchronous outcome (webhook, instant-webhook mode). */
  latencyMs: number;
  /** Instant rail: `sync` answers paid from submit; `webhook` answers pending and confirms after latencyMs. */
  instantConfirmation: 'sync' | 'webhook';
  /** Whole provider down: submit throws `outage`, health() reports down. */
  outage: boolean;
  /** Share of payouts hard-declined at submit, in basis points (0-10000). */
  declineRateBps: number;
  /** Share of payouts that are disbursed but whose submit throws `timeout`. */
  timeoutButPaidRateBps: number;
  /** Share of payouts accepted (pending) that later fail asynchronously. */
  asyncFailureRateBps: number;
  /** Share of paid payouts that are returned `returnAfterMs` after being paid. */
  returnRateBps: number;
  returnAfterMs: number;
  /** The first N submits of every idempotency key fail with a `retryable` error. */
  retryableFailures: number;
  /** Post every webhook twice (same webhook-id), as providers do on at-least-once delivery. */
  duplicateWebhooks: boolean;
}

export const DEFAULT_SANDBOX_SCENARIO: SandboxScenario = {
  seed: 1,
  latencyMs: 0,
  instantConfirmation: 'sync',
  outage: false,
  declineRateBps: 0,
  timeoutButPaidRateBps: 0,
  asyncFailureRateBps: 0,
  returnRateBps: 0,
  returnAfterMs: 60_000,
  retryableFailures: 0,
  duplicateWebhooks: false,
};

/** What the sandbox does with one payout. */
export type SandboxBehaviour =
  | 'pay'
  | 'decline'
  | 'outage'
  | 'timeout_paid'
  | 'timeout_lost'
  | 'retryable_then_pay'
  | 'pay_then_return'
  | 'pending_then_fail'
  | 'duplicate_webhooks'
  | 'pending_forever';

/**
 * Magic values, like card processors' test numbers. A destination whose digits end in one of these
 * groups — or an amount whose minor units modulo 10 000 are 9901-9909 (at scale 2: 99.01, 199.03, …,
 * selecting suffix 0001-0009) — forces the behaviour for that payout regardless of the instance scenario.
 */
export const MAGIC_SUFFIXES: Readonly<Record<string, SandboxBehaviour>> = {
  '0001': 'decline',
  '0002': 'outage',
  '0003': 'timeout_paid',
  '0004': 'timeout_lost',
  '0005': 'retryable_then_pay',
  '0006': 'pay_then_return',
  '0007': 'pending_then_fail',
  '0008': 'duplicate_webhooks',
  '0009': 'pending_forever',
};

/** Behaviour forced by the payout's own values: destination suffix first, then amount (minor units mod 10 000 = 99NN). */
export function magicBehaviour(destination: string, amountMinor: bigint): SandboxBehaviour | undefined {
  const digits = destination.replace(/[^0-9]/g, '');
  const bySuffix = MAGIC_SUFFIXES[digits.slice(-4)];
  if (bySuffix && digits.length >= 4) return bySuffix;
  const tail = amountMinor % 10_000n;
  if (tail >= 9_901n && tail <= 9_909n) return MAGIC_SUFFIXES[`000${tail - 9_900n}`];
  return undefined;
}

/** Deterministic draw in [0, 10 000) from the seed, the idempotency key and the purpose. */
export function draw(seed: number, key: string, purpose: string): number {
  const h = createHash('sha256').update(`${seed}\0${key}\0${purpose}`).digest();
  return h.readUInt32BE(0) % 10_000;
}

/** The behaviour for a payout: magic values win; otherwise the instance scenario's rates decide. */
export function decideBehaviour(
  scenario: SandboxScenario,
  req: { idempotencyKey: string; destination: string; amountMinor: bigint },
): SandboxBehaviour {
  const magic = magicBehaviour(req.destination, req.amountMinor);
  if (magic) return magic;
  if (scenario.outage) return 'outage';
  const k = req.idempotencyKey;
  if (draw(scenario.seed, k, 'decline') < scenario.declineRateBps) return 'decline';
  if (draw(scenario.seed, k, 'timeout') < scenario.timeoutButPaidRateBps) return 'timeout_paid';
  if (draw(scenario.seed, k, 'async_failure') < scenario.asyncFailureRateBps) return 'pending_then_fail';
  if (draw(scenario.seed, k, 'return') < scenario.returnRateBps) return 'pay_then_return';
  return 'pay';
}
