// Synthetic data for benches and scale tests: payees in a seeded random sponsor tree (inserted with
// set-based SQL, bypassing the API's per-payee encryption work) and their earnings events.
import { qualify } from '../db/identifiers.ts';
import type { Database } from '../db/open.ts';
import { sql } from '../db/sql.ts';
import type { EarningsEventInput } from '../earnings/ingest.ts';

/** Small deterministic PRNG (mulberry32): the same seed gives the same tree and events. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function seededPayeeId(prefix: string, i: number): string {
  return `pe_${prefix}${i.toString(16).padStart(24 - prefix.length, '0')}`;
}

/** Inserts `count` payees; each one's sponsor is an earlier payee (so no cycles). Returns their ids. */
export async function seedPayees(
  db: Database,
  o: { count: number; seed: number; prefix?: string; autoPayoutShare?: number },
): Promise<{ ids: string[]; sponsors: (string | null)[] }> {
  const rand = prng(o.seed);
  const prefix = o.prefix ?? 'b0';
  const ids: string[] = [];
  const sponsors: (string | null)[] = [];
  for (let i = 0; i < o.count; i++) {
    ids.push(seededPayeeId(prefix, i));
    // Mostly recent sponsors (deep, realistic chains) with some roots.
    sponsors.push(
      i === 0 || rand() < 0.02 ? null : ids[Math.max(0, i - 1 - Math.floor(rand() * Math.min(i, 50)))]!,
    );
  }
  const auto = ids.map(() => rand() < (o.autoPayoutShare ?? 0));
  const table = qualify(db.schema, 'payees');
  for (let start = 0; start < ids.length; start += 10_000) {
    const slice = ids.slice(start, start + 10_000);
    await sql(
      db.em(),
      `INSERT INTO ${table} (id, external_id, name, email, country, default_currency, kyc_status, tax_form,
                             preferred_method, auto_payout, sponsor_id)
       SELECT id, 'seed-' || id, 'Seeded payee', 'seed@example.com', 'US', 'USD', 'verified', 'none',
              'bank_account', auto, sponsor
         FROM unnest($1::text[], $2::boolean[], $3::text[]) AS s(id, auto, sponsor)`,
      [slice, auto.slice(start, start + 10_000), sponsors.slice(start, start + 10_000)],
    );
  }
  return { ids, sponsors };
}

/** `perPayee` events for each payee in the month `2026-MM`: mostly sales, some bonuses and clawbacks. */
export function seedEvents(
  ids: readonly string[],
  o: { perPayee: number; seed: number; month: string; prefix?: string },
): EarningsEventInput[] {
  const rand = prng(o.seed);
  const categories = ['default', 'nutrition', 'apparel'];
  const out: EarningsEventInput[] = [];
  for (const payeeId of ids) {
    for (let k = 0; k < o.perPayee; k++) {
      const r = rand();
      const type = r < 0.85 ? 'sale' : r < 0.95 ? 'bonus' : 'clawback';
      out.push({
        externalId: `${o.prefix ?? 'ev'}-${payeeId}-${k}`,
        payeeId,
        type,
        amount: {
          amount: String(100 + Math.floor(rand() * (type === 'clawback' ? 2_000 : 20_000))),
          currency: 'USD',
          scale: 2,
        },
        occurredAt: `${o.month}-${String(1 + Math.floor(rand() * 27)).padStart(2, '0')}T12:00:00Z`,
        category: categories[Math.floor(rand() * 3)]!,
        volume: type === 'bonus' ? 0 : Math.floor(rand() * 120),
      });
    }
  }
  return out;
}
