// Fan-out of many payouts from one workflow (a period close, a bulk request): the payouts to make are queued
// in a table first, then an activity starts the next ones in waves while fewer than a window are in flight.
// Started through the client, not as child workflows, so the fanning workflow's history grows by one
// activity per wave, not by several events per payout.
import type { EntityManager } from '@mikro-orm/postgresql';
import { qualify } from '../db/identifiers.ts';
import type { Database } from '../db/open.ts';
import { sql } from '../db/sql.ts';
import type { PayoutGateway } from './gateway.ts';
import { newPayoutFrom } from './service.ts';
import type { PayoutInput, PayoutWave } from './state.ts';
import { PayoutStore } from './store.ts';

/**
 * Payout states that still occupy a slot of the window (parked ones — approval, schedule, review — do not).
 * A payout awaiting its provider's confirmation is parked too: the provider has it, and one it never
 * confirms (up to PAYOUT_CONFIRMATION_DEADLINE, 24 h) would otherwise hold its period or bulk open that long.
 */
export const IN_FLIGHT_STATES = ['requested', 'reserved', 'submitting'];

/**
 * A queue table with columns (payee_id, payout_id, seq, amount, currency, started) and an owner column
 * (`period_id`, `bulk_id`) naming the fan-out each row belongs to.
 */
export interface PayoutQueue {
  table: 'period_payouts' | 'bulk_payouts';
  ownerColumn: 'period_id' | 'bulk_id';
  ownerId: string;
}

export interface QueuedPayout {
  payeeId: string;
  payoutId: string;
  amount: bigint;
  currency: string;
}

/**
 * Starts the queue's next payouts while fewer than `window` of them are in flight, `toInputs` turning queued
 * rows into workflow inputs. A wave that dies after starting some is safe to repeat: starts are idempotent by
 * payout id and rows are marked started only after their
 * payout row and workflow exist.
 */
export async function startPayoutWave(o: {
  db: Database;
  queue: PayoutQueue;
  window: number;
  gateway: PayoutGateway;
  toInputs: (rows: QueuedPayout[]) => Promise<PayoutInput[]>;
  heartbeat: () => void;
}): Promise<PayoutWave> {
  const queue = qualify(o.db.schema, o.queue.table);
  const payouts = qualify(o.db.schema, 'payouts');
  const owner = o.queue.ownerColumn;
  const [counts] = await sql<{ in_flight: string; waiting: string; total: string }>(
    o.db.em(),
    // In flight: found from the payouts in those states (by the state index, a window's worth) and their queue
    // rows one by one, not by joining every queue row to its payout — a call polls this every 250 ms, and at
    // 50,000 queued payouts the join took ~40 ms of the database each time (OFFSET 0 keeps the planner from
    // hashing the whole queue instead). A started row always has its payout (inserted before the start).
    `SELECT (SELECT count(*) FROM ${payouts} p,
                    LATERAL (SELECT s.started FROM ${queue} s WHERE s.payout_id = p.id AND s.${owner} = $1 OFFSET 0) s
              WHERE p.state = ANY($2::text[]) AND p.${owner} = $1 AND s.started)::text AS in_flight,
            count(*) FILTER (WHERE NOT q.started)::text AS waiting,
            count(*)::text AS total
       FROM ${queue} q
      WHERE q.${owner} = $1`,
    [o.queue.ownerId, IN_FLIGHT_STATES],
  );
  const inFlight = Number(counts?.in_flight ?? 0);
  const waiting = Number(counts?.waiting ?? 0);
  const free = Math.max(0, o.window - inFlight);
  const next = await sql<{ payee_id: string; payout_id: string; amount: string; currency: string }>(
    o.db.em(),
    `SELECT payee_id, payout_id, amount::text AS amount, currency
       FROM ${queue} WHERE ${owner} = $1 AND NOT started ORDER BY seq LIMIT $2`,
    [o.queue.ownerId, free],
  );
  const inputs = await o.toInputs(
    next.map((r) => ({
      payeeId: r.payee_id,
      payoutId: r.payout_id,
      amount: BigInt(r.amount),
      currency: r.currency,
    })),
  );
  const started: string[] = [];
  const store = new PayoutStore(o.db.schema);
  for (let i = 0; i < inputs.length; i += 25) {
    await Promise.all(
      inputs.slice(i, i + 25).map(async (input) => {
        // The row first (once: a repeated wave finds it), then the workflow, which reads it.
        await store.insert(o.db.em(), newPayoutFrom(input));
        await o.gateway.start(input);
        started.push(input.payoutId);
      }),
    );
    o.heartbeat();
  }
  if (started.length > 0) {
    await sql(o.db.em(), `UPDATE ${queue} SET started = true WHERE payout_id = ANY($1::text[])`, [started]);
  }
  return {
    started: started.length,
    inFlight: inFlight + started.length,
    waiting: waiting - started.length,
    total: Number(counts?.total ?? 0),
  };
}

/** How the queue's payouts stand now: count per payout state (`not_started` for rows without a payout yet). */
export async function queueOutcomes(
  em: EntityManager,
  schema: string,
  queue: PayoutQueue,
): Promise<Record<string, number>> {
  const rows = await sql<{ state: string; n: string }>(
    em,
    `SELECT coalesce(p.state, 'not_started') AS state, count(*)::text AS n
       FROM ${qualify(schema, queue.table)} q LEFT JOIN ${qualify(schema, 'payouts')} p ON p.id = q.payout_id
      WHERE q.${queue.ownerColumn} = $1 GROUP BY 1 ORDER BY 1`,
    [queue.ownerId],
  );
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}
