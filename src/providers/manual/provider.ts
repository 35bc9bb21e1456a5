// The manual payout provider: payouts are queued in `manual_payouts` for an operator who pays them
// outside Disburse (bank portal, spreadsheet upload), exported as CSV, and whose results are imported back.
// See README.md in this folder.
import type { EntityManager } from '@mikro-orm/postgresql';
import { decrypt, encrypt } from '../../crypto/envelope.ts';
import type { Keyring } from '../../crypto/keyring.ts';
import { mask } from '../../crypto/mask.ts';
import { qualify } from '../../db/identifiers.ts';
import type { Database } from '../../db/open.ts';
import { sql } from '../../db/sql.ts';
import { CsvError, neutraliseFormula, parseCsv, toCsv } from '../../shared/csv.ts';
import { assertSubmittable, defaultCapabilities } from '../capabilities.ts';
import { ProviderError, WebhookVerificationError } from '../errors.ts';
import type {
  CancelResult,
  PayoutProvider,
  ProviderCapabilities,
  ProviderEvent,
  ProviderHealth,
  ProviderStatus,
  SubmitRequest,
  SubmitResult,
} from '../types.ts';
import { refuseVoidedKey, voidUnseenKey } from '../voided-keys.ts';

/** What an operator can report for a row: the offline payment was made, was not, or came back later. */
const IMPORT_OUTCOMES = ['paid', 'failed', 'returned'] as const;
type ImportOutcome = (typeof IMPORT_OUTCOMES)[number];

export type ManualState = 'queued' | 'exported' | 'paid' | 'failed' | 'cancelled' | 'returned';

/** Outcomes an import may report for a row in each state (repeating the current one is a no-op). */
const IMPORTABLE: Record<ManualState, readonly ImportOutcome[]> = {
  queued: ['paid', 'failed'],
  exported: ['paid', 'failed'],
  paid: ['paid', 'returned'],
  failed: ['failed'],
  returned: ['returned'],
  cancelled: [],
};

export interface ManualProviderOptions {
  name: string;
  db: Database;
  capabilities?: Partial<ProviderCapabilities>;
  /**
   * Keyring to keep the destination encrypted at rest (src/crypto). Required for `exportDestinations`.
   * Without it only the masked destination is stored.
   */
  keyring?: Keyring;
  /** Put the decrypted destination in the CSV export (the operator pays from it). Default false. */
  exportDestinations?: boolean;
  clock?: () => Date;
}

interface ManualRow {
  provider: string;
  idempotency_key: string;
  payout_id: string;
  amount_minor: string | number;
  currency: string;
  scale: number;
  method: string;
  rail: string;
  payee_id: string;
  payee_name: string;
  payee_country: string;
  destination_masked: string;
  destination_ciphertext: string | null;
  provider_ref: string;
  state: ManualState;
  reason: string | null;
  queued_at: Date | string;
  exported_at: Date | string | null;
  resolved_at: Date | string | null;
}

export interface ImportRowError {
  line: number;
  message: string;
}

export type ImportResult =
  | { ok: true; events: ProviderEvent[]; applied: number; unchanged: number }
  | { ok: false; errors: ImportRowError[] };

export const EXPORT_COLUMNS = [
  'payout_id',
  'idempotency_key',
  'payee_id',
  'payee_name',
  'payee_country',
  'method',
  'amount',
  'currency',
  'destination',
  'queued_at',
  'outcome',
  'reason',
] as const;

/** "12345" at scale 2 → "123.45". */
export function formatMinor(minor: bigint, scale: number): string {
  if (scale === 0) return minor.toString();
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

export class ManualProvider implements PayoutProvider {
  readonly name: string;
  readonly #db: Database;
  readonly #capabilities: ProviderCapabilities;
  readonly #keyring: Keyring | undefined;
  readonly #exportDestinations: boolean;
  readonly #clock: () => Date;

  constructor(options: ManualProviderOptions) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(options.name)) {
      throw new Error(
        `manual provider name must be lower-case letters, digits, _ or - (got "${options.name}")`,
      );
    }
    if (options.exportDestinations && !options.keyring) {
      throw new Error(
        `manual provider ${options.name}: exportDestinations needs a keyring (destinations are stored encrypted)`,
      );
    }
    this.name = options.name;
    this.#db = options.db;
    // Offline processing is a batch rail by nature.
    this.#capabilities = defaultCapabilities({ rails: ['batch'], priority: 100, ...options.capabilities });
    this.#keyring = options.keyring;
    this.#exportDestinations = options.exportDestinations ?? false;
    this.#clock = options.clock ?? (() => new Date());
  }

  #t(): string {
    return qualify(this.#db.schema, 'manual_payouts');
  }

  #aad(key: string): string {
    return `manual_payouts:${this.name}:${key}`;
  }

  capabilities(): ProviderCapabilities {
    return this.#capabilities;
  }

  async health(): Promise<ProviderHealth> {
    return { status: 'up' };
  }

  async #find(em: EntityManager, key: string): Promise<ManualRow | undefined> {
    const rows = await sql<ManualRow>(
      em,
      `SELECT * FROM ${this.#t()} WHERE provider = $1 AND idempotency_key = $2`,
      [this.name, key],
    );
    return rows[0];
  }

  /** Queues the payout (idempotent on the key). Always `pending` until an import resolves it. */
  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const amountMinor = assertSubmittable(this.name, this.#capabilities, req);
    const providerRef = `${this.name}_${req.idempotencyKey}`;
    const ciphertext = this.#keyring
      ? encrypt(this.#keyring, req.destination, this.#aad(req.idempotencyKey))
      : null;
    const rows = await this.#db.em().transactional(async (tx) => {
      await refuseVoidedKey(tx, this.#db.schema, this.name, req.idempotencyKey);
      return sql<ManualRow>(
        tx,
        `INSERT INTO ${this.#t()} (provider, idempotency_key, payout_id, amount_minor, currency, scale, method, rail,
         payee_id, payee_name, payee_country, destination_masked, destination_ciphertext, provider_ref, state, queued_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'queued', $15)
       ON CONFLICT (provider, idempotency_key) DO NOTHING RETURNING *`,
        [
          this.name,
          req.idempotencyKey,
          req.payoutId,
          amountMinor.toString(),
          req.amount.currency,
          req.amount.scale,
          req.method,
          req.rail,
          req.payee.id,
          req.payee.name,
          req.payee.country,
          mask(req.destination),
          ciphertext,
          providerRef,
          this.#clock(),
        ],
      );
    });
    const row = rows[0] ?? (await this.#find(this.#db.em(), req.idempotencyKey));
    if (!row) throw new ProviderError(this.name, 'retryable', 'conflict', 'concurrent submit, retry');
    if (
      row.payout_id !== req.payoutId ||
      BigInt(row.amount_minor) !== amountMinor ||
      row.currency !== req.amount.currency
    ) {
      throw new ProviderError(
        this.name,
        'hard_decline',
        'idempotency_key_reused',
        `idempotency key ${req.idempotencyKey} was used for payout ${row.payout_id} with different parameters`,
      );
    }
    if (row.state === 'failed' || row.state === 'cancelled') {
      throw new ProviderError(this.name, 'hard_decline', `already_${row.state}`, row.reason ?? row.state);
    }
    // A returned row was paid (the money came back later): a repeated submit must not pay it again.
    return {
      state: row.state === 'paid' || row.state === 'returned' ? 'paid' : 'pending',
      providerRef: row.provider_ref,
    };
  }

  async status(idempotencyKey: string): Promise<ProviderStatus> {
    const row = await this.#find(this.#db.em(), idempotencyKey);
    if (!row) return { state: 'not_found' };
    const state =
      row.state === 'paid' || row.state === 'returned'
        ? row.state
        : row.state === 'failed' || row.state === 'cancelled'
          ? 'failed'
          : 'pending';
    return { state, providerRef: row.provider_ref, ...(row.reason ? { reason: row.reason } : {}) };
  }

  /** Only a queued (not yet exported) payout can be cancelled: once exported the operator may have paid it. */
  async cancel(idempotencyKey: string): Promise<CancelResult> {
    const rows = await sql(
      this.#db.em(),
      `UPDATE ${this.#t()} SET state = 'cancelled', reason = 'cancelled', resolved_at = $3
       WHERE provider = $1 AND idempotency_key = $2 AND state = 'queued' RETURNING 1`,
      [this.name, idempotencyKey, this.#clock()],
    );
    if (rows.length > 0) return { cancelled: true, state: 'failed', reason: 'cancelled' };
    const voided = await voidUnseenKey(
      this.#db.em(),
      this.#db.schema,
      this.name,
      idempotencyKey,
      async (tx) => (await this.#find(tx, idempotencyKey)) !== undefined,
    );
    if (voided) return { cancelled: true, state: 'not_found', reason: 'voided: never queued' };
    const row = await this.#find(this.#db.em(), idempotencyKey);
    if (!row)
      throw new Error(`manual provider ${this.name}: key ${idempotencyKey} neither voided nor queued`);
    if (row.state === 'cancelled' || row.state === 'failed') {
      return { cancelled: true, state: 'failed', reason: row.reason ?? row.state };
    }
    if (row.state === 'paid' || row.state === 'returned')
      return { cancelled: false, state: 'paid', reason: `already ${row.state}` };
    return {
      cancelled: false,
      state: 'pending',
      reason: 'already exported for offline processing: ask the operator, then import the result',
    };
  }

  parseWebhook(): ProviderEvent[] {
    throw new WebhookVerificationError(
      'not_supported',
      `provider ${this.name} is manual: it has no webhooks; import results with importResults(csv)`,
    );
  }

  /**
   * CSV (RFC 4180) of queued payouts for the operator; marks them `exported`. `includeExported` re-exports
   * rows exported before and not yet resolved. The destination column is masked unless the provider was
   * configured with `exportDestinations` (then decrypted: handle the file as sensitive). The trailing
   * `outcome` and `reason` columns are left empty for the operator to fill and import back.
   */
  async exportQueued(
    options: { includeExported?: boolean; limit?: number } = {},
  ): Promise<{ csv: string; count: number }> {
    const states = options.includeExported ? ['queued', 'exported'] : ['queued'];
    return this.#db.em().transactional(async (tx) => {
      const rows = await sql<ManualRow>(
        tx,
        `UPDATE ${this.#t()} SET state = 'exported', exported_at = coalesce(exported_at, $3)
         WHERE (provider, idempotency_key) IN (
           SELECT provider, idempotency_key FROM ${this.#t()}
           WHERE provider = $1 AND state = ANY($2::text[]) ORDER BY queued_at, idempotency_key LIMIT $4
           FOR UPDATE)
         RETURNING *`,
        [this.name, states, this.#clock(), options.limit ?? 10_000],
      );
      rows.sort(
        (a, b) =>
          +new Date(a.queued_at) - +new Date(b.queued_at) ||
          a.idempotency_key.localeCompare(b.idempotency_key),
      );
      const lines: string[][] = [[...EXPORT_COLUMNS]];
      for (const r of rows) {
        const destination =
          this.#exportDestinations && this.#keyring && r.destination_ciphertext
            ? decrypt(this.#keyring, r.destination_ciphertext, this.#aad(r.idempotency_key))
            : r.destination_masked;
        lines.push([
          r.payout_id,
          r.idempotency_key,
          r.payee_id,
          neutraliseFormula(r.payee_name),
          r.payee_country,
          r.method,
          formatMinor(BigInt(r.amount_minor), Number(r.scale)),
          r.currency,
          destination,
          new Date(r.queued_at).toISOString(),
          '',
          '',
        ]);
      }
      return { csv: toCsv(lines), count: rows.length };
    });
  }

  /**
   * Imports operator results: rows `payout_id,idempotency_key,outcome,reason` (outcome `paid`, `failed`, or
   * `returned` for a paid payout whose money came back; reason required for failed and returned). A header row is optional; with one, columns are found by name and other
   * columns (e.g. a filled-in export) are ignored. All-or-nothing: any invalid row → nothing applied and
   * every error is returned with its line number. Re-importing the same result is a no-op that returns the
   * same events (stable event ids), so a caller that crashed before signalling can simply import again.
   */
  async importResults(csvText: string): Promise<ImportResult> {
    let records: ReturnType<typeof parseCsv>;
    try {
      records = parseCsv(csvText);
    } catch (err) {
      if (err instanceof CsvError)
        return { ok: false, errors: [{ line: err.line, message: err.message.replace(/^line \d+: /, '') }] };
      throw err;
    }
    const errors: ImportRowError[] = [];
    let cols = { payout_id: 0, idempotency_key: 1, outcome: 2, reason: 3 };
    const first = records[0];
    if (first?.fields.map((f) => f.trim().toLowerCase()).includes('idempotency_key')) {
      const header = first.fields.map((f) => f.trim().toLowerCase());
      const missing = (['payout_id', 'idempotency_key', 'outcome', 'reason'] as const).filter(
        (c) => !header.includes(c),
      );
      if (missing.length > 0) {
        return {
          ok: false,
          errors: [{ line: first.line, message: `header is missing column(s): ${missing.join(', ')}` }],
        };
      }
      cols = {
        payout_id: header.indexOf('payout_id'),
        idempotency_key: header.indexOf('idempotency_key'),
        outcome: header.indexOf('outcome'),
        reason: header.indexOf('reason'),
      };
      records = records.slice(1);
    }
    if (records.length === 0)
      return { ok: false, errors: [{ line: 1, message: 'no result rows in the file' }] };

    return this.#db.em().transactional(async (tx) => {
      const seen = new Map<string, number>();
      const planned: {
        line: number;
        row: ManualRow;
        outcome: ImportOutcome;
        reason: string;
        change: boolean;
      }[] = [];
      for (const { line, fields } of records) {
        const payoutId = (fields[cols.payout_id] ?? '').trim();
        const key = (fields[cols.idempotency_key] ?? '').trim();
        const outcome = (fields[cols.outcome] ?? '').trim().toLowerCase();
        const reason = (fields[cols.reason] ?? '').trim();
        const problems: string[] = [];
        if (!payoutId) problems.push('payout_id is empty');
        if (!key) problems.push('idempotency_key is empty');
        if (!IMPORT_OUTCOMES.includes(outcome as ImportOutcome))
          problems.push(`outcome must be "paid", "failed" or "returned", got "${outcome}"`);
        if ((outcome === 'failed' || outcome === 'returned') && !reason)
          problems.push(`a ${outcome} row needs a reason`);
        if (key && seen.has(key))
          problems.push(`idempotency_key ${key} already appears on line ${seen.get(key)}`);
        if (key) seen.set(key, line);
        let row: ManualRow | undefined;
        if (key && problems.length === 0) {
          const found = await sql<ManualRow>(
            tx,
            `SELECT * FROM ${this.#t()} WHERE provider = $1 AND idempotency_key = $2 FOR UPDATE`,
            [this.name, key],
          );
          row = found[0];
          if (!row) problems.push(`no payout queued on provider ${this.name} with idempotency_key ${key}`);
          else if (row.payout_id !== payoutId)
            problems.push(`idempotency_key ${key} belongs to payout ${row.payout_id}, not ${payoutId}`);
          else if (row.state === 'cancelled')
            problems.push(`payout ${payoutId} was cancelled; it must not be paid`);
          else if (!IMPORTABLE[row.state].includes(outcome as ImportOutcome))
            problems.push(
              outcome === 'returned'
                ? `payout ${payoutId} is ${row.state}; only a paid payout can be returned`
                : `payout ${payoutId} is already ${row.state}; cannot change it to ${outcome}`,
            );
        }
        if (problems.length > 0) errors.push({ line, message: problems.join('; ') });
        else if (row) {
          planned.push({
            line,
            row,
            outcome: outcome as ImportOutcome,
            reason,
            change: row.state !== outcome,
          });
        }
      }
      if (errors.length > 0) return { ok: false as const, errors };
      const now = this.#clock();
      const events: ProviderEvent[] = [];
      for (const p of planned) {
        if (p.change) {
          await sql(
            tx,
            `UPDATE ${this.#t()} SET state = $3, reason = $4, resolved_at = $5 WHERE provider = $1 AND idempotency_key = $2`,
            [this.name, p.row.idempotency_key, p.outcome, p.reason || null, now],
          );
        }
        const resolvedAt = p.change || !p.row.resolved_at ? now : new Date(p.row.resolved_at);
        events.push({
          eventId: `${this.name}.${p.outcome}.${p.row.idempotency_key}`,
          idempotencyKey: p.row.idempotency_key,
          payoutId: p.row.payout_id,
          type: p.outcome,
          ...(p.reason ? { reason: p.reason } : {}),
          occurredAt: resolvedAt.toISOString(),
        });
      }
      const applied = planned.filter((p) => p.change).length;
      return { ok: true as const, events, applied, unchanged: planned.length - applied };
    });
  }
}
