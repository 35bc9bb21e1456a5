// Payee registry: profile, tax profile, payout preferences and encrypted destinations. Every read returns
// masked data; only `getDestinationForSubmission` decrypts, for provider submission inside an activity (and
// putDestination, to tell a re-sent destination from a changed one: a postal address is not in the display).
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { decrypt, encrypt, fingerprint, type Keyring, lastFour } from '../crypto/index.ts';
import {
  type DestinationDetails,
  type DestinationKind,
  destinationSchemas,
  displayFields,
  identifyingParts,
} from './destinations.ts';
import { Payee, PayeeDestination, PayeeDestinationChange } from './entities.ts';
import type { CreatePayeeInput, DestinationView, PayeeView, UpdatePayeeInput } from './schemas.ts';

export type PayeeErrorKind = 'not_found' | 'conflict' | 'unprocessable' | 'validation_failed';

/** Domain error; `kind` is one of the API's error kinds, so the HTTP layer maps it without a lookup table. */
export class PayeeError extends Error {
  override name = 'PayeeError';
  readonly kind: PayeeErrorKind;
  constructor(kind: PayeeErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export interface PayeeServiceDeps {
  keyring: Keyring;
  fingerprintKey: Buffer;
  now?: () => Date;
}

export interface DestinationRiskFacts {
  kind: DestinationKind;
  fingerprint: string;
  addedAt: Date;
  changedAt: Date;
  /** Number of OTHER payees with a destination of the same fingerprint. */
  sharedDestinationPayeeCount: number;
}

type PayeeRow = InstanceType<typeof Payee.class>;
type DestinationRow = InstanceType<typeof PayeeDestination.class>;
type PayeeFields = Omit<PayeeRow, 'taxTinCiphertext'>;
type DestinationFields = Pick<DestinationRow, 'kind' | 'display' | 'addedAt' | 'changedAt'>;

/**
 * A `payees` row as raw SQL reads it (`to_jsonb(y) - 'tax_tin_ciphertext'`: snake_case, timestamps as text),
 * for a caller that reads the payee joined to its own row in one statement.
 */
export interface PayeeJson {
  id: string;
  external_id: string;
  name: string;
  email: string;
  country: string;
  default_currency: string;
  kyc_status: string;
  tax_form: string;
  tax_tin_last4: string | null;
  preferred_method: string | null;
  instant_opt_in: boolean;
  auto_payout: boolean;
  sponsor_id: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * A `payee_destinations` row as raw SQL reads it (jsonb: timestamps as text), with `shared`: the number of
 * OTHER payees with a destination of the same fingerprint.
 */
export interface DestinationJson {
  kind: string;
  ciphertext: string;
  fingerprint: string;
  display: Record<string, string>;
  added_at: string;
  changed_at: string;
  shared: number | string;
}

function payeeFieldsOf(r: PayeeJson): PayeeFields {
  return {
    id: r.id,
    externalId: r.external_id,
    name: r.name,
    email: r.email,
    country: r.country,
    defaultCurrency: r.default_currency,
    kycStatus: r.kyc_status,
    taxForm: r.tax_form,
    taxTinLast4: r.tax_tin_last4,
    preferredMethod: r.preferred_method,
    instantOptIn: r.instant_opt_in,
    autoPayout: r.auto_payout,
    sponsorId: r.sponsor_id,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

function destinationFieldsOf(r: DestinationJson): DestinationFields {
  return {
    kind: r.kind,
    display: r.display,
    addedAt: new Date(r.added_at),
    changedAt: new Date(r.changed_at),
  };
}

const destinationAad = (payeeId: string, kind: string) => `payee-destination/${payeeId}/${kind}`;
const tinAad = (payeeId: string) => `payee-tin/${payeeId}`;

/** Flat string records equal regardless of key order (jsonb does not keep it). */
/** JSON with object keys sorted, so two equal details compare equal whatever order they were written in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function sameFields(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export function newPayeeId(): string {
  return `pe_${randomBytes(12).toString('hex')}`;
}

function destinationToView(d: DestinationFields): DestinationView {
  const { masked, ...details } = d.display;
  return {
    kind: d.kind as DestinationKind,
    masked: masked ?? '****',
    details,
    addedAt: d.addedAt.toISOString(),
    changedAt: d.changedAt.toISOString(),
  };
}

function toView(p: PayeeFields, destinations: DestinationFields[]): PayeeView {
  return {
    id: p.id,
    externalId: p.externalId,
    name: p.name,
    email: p.email,
    country: p.country,
    defaultCurrency: p.defaultCurrency,
    kycStatus: p.kycStatus as PayeeView['kycStatus'],
    taxProfile: {
      form: p.taxForm as PayeeView['taxProfile']['form'],
      ...(p.taxTinLast4 ? { tin: `****${p.taxTinLast4}` } : {}),
    },
    payoutPreferences: {
      preferredMethod: (p.preferredMethod ?? null) as DestinationKind | null,
      instantOptIn: p.instantOptIn,
      autoPayout: p.autoPayout,
    },
    sponsorId: p.sponsorId ?? null,
    destinations: [...destinations].sort((a, b) => a.kind.localeCompare(b.kind)).map(destinationToView),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

export function createPayeeService(deps: PayeeServiceDeps) {
  const now = deps.now ?? (() => new Date());

  const payeeNotFound = (id: string) => new PayeeError('not_found', `Payee ${id} not found`);

  async function load(em: EntityManager, id: string): Promise<PayeeRow> {
    const p = await em.findOne(Payee, { id });
    if (!p) throw payeeNotFound(id);
    return p;
  }

  /** The destination in clear with its fingerprint; not_found without a row. */
  function open(
    payeeId: string,
    kind: DestinationKind,
    row: { ciphertext: string; fingerprint: string } | null | undefined,
  ): { destination: DestinationDetails; fingerprint: string } {
    if (!row) throw new PayeeError('not_found', `Payee ${payeeId} has no ${kind} destination`);
    const details = JSON.parse(decrypt(deps.keyring, row.ciphertext, destinationAad(payeeId, kind)));
    return { destination: { kind, details } as DestinationDetails, fingerprint: row.fingerprint };
  }

  async function view(em: EntityManager, p: PayeeRow): Promise<PayeeView> {
    return toView(p, await em.find(PayeeDestination, { payeeId: p.id }));
  }

  async function checkSponsor(em: EntityManager, payeeId: string, sponsorId: string | null | undefined) {
    if (!sponsorId) return;
    if (sponsorId === payeeId) throw new PayeeError('unprocessable', 'A payee cannot sponsor itself');
    // Walk up the tree so a change cannot create a cycle.
    let cursor: string | null = sponsorId;
    for (let depth = 0; cursor; depth++) {
      const sponsor: PayeeRow | null = await em.findOne(Payee, { id: cursor });
      if (!sponsor)
        throw new PayeeError('unprocessable', `Sponsor ${cursor} does not exist: register it first`);
      if (sponsor.sponsorId === payeeId || depth > 10_000) {
        throw new PayeeError('unprocessable', `Sponsor ${sponsorId} would make a cycle in the sponsor tree`);
      }
      cursor = sponsor.sponsorId ?? null;
    }
  }

  function applyTaxProfile(p: PayeeRow, tax: NonNullable<CreatePayeeInput['taxProfile']>) {
    p.taxForm = tax.form;
    if (tax.form === 'w9') {
      const tin = tax.tin.replace(/-/g, '');
      p.taxTinCiphertext = encrypt(deps.keyring, tin, tinAad(p.id));
      p.taxTinLast4 = lastFour(tin);
    } else {
      p.taxTinCiphertext = null;
      p.taxTinLast4 = null;
    }
  }

  return {
    async create(em: EntityManager, input: CreatePayeeInput): Promise<PayeeView> {
      if (await em.findOne(Payee, { externalId: input.externalId })) {
        throw new PayeeError('conflict', `A payee with externalId "${input.externalId}" already exists`);
      }
      const id = newPayeeId();
      await checkSponsor(em, id, input.sponsorId);
      const at = now();
      const p = em.create(Payee, {
        id,
        externalId: input.externalId,
        name: input.name,
        email: input.email,
        country: input.country,
        defaultCurrency: input.defaultCurrency,
        kycStatus: input.kycStatus ?? 'pending',
        taxForm: 'none',
        taxTinCiphertext: null,
        taxTinLast4: null,
        preferredMethod: input.payoutPreferences?.preferredMethod ?? null,
        instantOptIn: input.payoutPreferences?.instantOptIn ?? false,
        autoPayout: input.payoutPreferences?.autoPayout ?? false,
        sponsorId: input.sponsorId ?? null,
        createdAt: at,
        updatedAt: at,
      });
      if (input.taxProfile) applyTaxProfile(p, input.taxProfile);
      await em.flush();
      return toView(p, []);
    },

    async get(em: EntityManager, id: string): Promise<PayeeView> {
      return view(em, await load(em, id));
    },

    async exists(em: EntityManager, id: string): Promise<boolean> {
      return (await em.count(Payee, { id })) > 0;
    },

    async update(em: EntityManager, id: string, patch: UpdatePayeeInput): Promise<PayeeView> {
      const p = await load(em, id);
      if (patch.sponsorId !== undefined) {
        await checkSponsor(em, id, patch.sponsorId);
        p.sponsorId = patch.sponsorId;
      }
      if (patch.name !== undefined) p.name = patch.name;
      if (patch.email !== undefined) p.email = patch.email;
      if (patch.country !== undefined) p.country = patch.country;
      if (patch.defaultCurrency !== undefined) p.defaultCurrency = patch.defaultCurrency;
      if (patch.kycStatus !== undefined) p.kycStatus = patch.kycStatus;
      if (patch.taxProfile !== undefined) applyTaxProfile(p, patch.taxProfile);
      const prefs = patch.payoutPreferences;
      if (prefs?.preferredMethod !== undefined) p.preferredMethod = prefs.preferredMethod;
      if (prefs?.instantOptIn !== undefined) p.instantOptIn = prefs.instantOptIn;
      if (prefs?.autoPayout !== undefined) p.autoPayout = prefs.autoPayout;
      p.updatedAt = now();
      await em.flush();
      return view(em, p);
    },

    /**
     * Adds or replaces the payee's destination of this kind. An identical destination is a no-op (changedAt
     * kept, so re-sending the same data does not restart the risk cool-off).
     */
    async putDestination(
      em: EntityManager,
      payeeId: string,
      kind: DestinationKind,
      rawDetails: unknown,
      actor: string,
    ): Promise<{ destination: DestinationView; change: 'added' | 'changed' | 'unchanged' }> {
      const parsed = destinationSchemas[kind].safeParse(rawDetails);
      if (!parsed.success) {
        throw new PayeeError(
          'validation_failed',
          `Invalid ${kind} destination: ${parsed.error.issues[0]?.message}`,
        );
      }
      await load(em, payeeId);
      const dest = { kind, details: parsed.data } as DestinationDetails;
      const fp = fingerprint(deps.fingerprintKey, kind, identifyingParts(dest));
      const { masked, details } = displayFields(dest);
      const existing = await em.findOne(PayeeDestination, { payeeId, kind });
      const at = now();
      // Same account and display, and the same encrypted details (a postal address is not in the display).
      const same =
        existing !== null &&
        existing.fingerprint === fp &&
        sameFields(existing.display, { masked, ...details }) &&
        canonical(JSON.parse(decrypt(deps.keyring, existing.ciphertext, destinationAad(payeeId, kind)))) ===
          canonical(parsed.data);
      if (existing && same) return { destination: destinationToView(existing), change: 'unchanged' };
      const ciphertext = encrypt(deps.keyring, JSON.stringify(parsed.data), destinationAad(payeeId, kind));
      let row: DestinationRow;
      if (existing) {
        em.create(PayeeDestinationChange, {
          payeeId,
          kind,
          change: 'changed',
          fingerprint: fp,
          previousFingerprint: existing.fingerprint,
          actor,
          at,
        });
        existing.ciphertext = ciphertext;
        existing.keyId = deps.keyring.activeKid;
        existing.fingerprint = fp;
        existing.display = { masked, ...details };
        existing.changedAt = at;
        row = existing;
      } else {
        em.create(PayeeDestinationChange, {
          payeeId,
          kind,
          change: 'added',
          fingerprint: fp,
          previousFingerprint: null,
          actor,
          at,
        });
        row = em.create(PayeeDestination, {
          payeeId,
          kind,
          ciphertext,
          keyId: deps.keyring.activeKid,
          fingerprint: fp,
          display: { masked, ...details },
          addedAt: at,
          changedAt: at,
        });
      }
      await em.flush();
      return { destination: destinationToView(row), change: existing ? 'changed' : 'added' };
    },

    /**
     * Clear destination for a provider submission, with its keyed fingerprint (which destination it is, without
     * the bank data). Call only inside an activity; never log or return the details.
     */
    async getDestinationForSubmission(
      em: EntityManager,
      payeeId: string,
      kind: DestinationKind,
    ): Promise<{ destination: DestinationDetails; fingerprint: string }> {
      return open(payeeId, kind, await em.findOne(PayeeDestination, { payeeId, kind }));
    },

    /**
     * getDestinationForSubmission from a row the caller already read (raw SQL, joined to its own): the same
     * decryption and the same not_found when `row` is null.
     */
    openDestination(
      payeeId: string,
      kind: DestinationKind,
      row: { ciphertext: string; fingerprint: string } | null | undefined,
    ): { destination: DestinationDetails; fingerprint: string } {
      return open(payeeId, kind, row);
    },

    /** get() from rows the caller already read (PayeeJson, DestinationJson); not_found when `payee` is null. */
    viewOf(payeeId: string, payee: PayeeJson | null, destinations: readonly DestinationJson[]): PayeeView {
      if (!payee) throw payeeNotFound(payeeId);
      return toView(payeeFieldsOf(payee), destinations.map(destinationFieldsOf));
    },

    /** getDestinationRiskFacts from the rows the caller already read (DestinationJson, with `shared`). */
    riskFactsOf(
      kind: DestinationKind,
      destinations: readonly DestinationJson[],
    ): DestinationRiskFacts | null {
      const row = destinations.find((d) => d.kind === kind);
      if (!row) return null;
      return {
        kind,
        fingerprint: row.fingerprint,
        addedAt: new Date(row.added_at),
        changedAt: new Date(row.changed_at),
        sharedDestinationPayeeCount: Number(row.shared),
      };
    },

    /** The W-9 TIN in clear (tax reporting); never log it. */
    async getTaxTin(em: EntityManager, payeeId: string): Promise<string | null> {
      const p = await load(em, payeeId);
      return p.taxTinCiphertext ? decrypt(deps.keyring, p.taxTinCiphertext, tinAad(payeeId)) : null;
    },

    /** Facts for the destination risk rules, without decrypting anything. null when there is no destination. */
    async getDestinationRiskFacts(
      em: EntityManager,
      payeeId: string,
      kind: DestinationKind,
    ): Promise<DestinationRiskFacts | null> {
      const row = await em.findOne(PayeeDestination, { payeeId, kind });
      if (!row) return null;
      const shared = await em.count(PayeeDestination, {
        fingerprint: row.fingerprint,
        payeeId: { $ne: payeeId },
      });
      return {
        kind,
        fingerprint: row.fingerprint,
        addedAt: row.addedAt,
        changedAt: row.changedAt,
        sharedDestinationPayeeCount: shared,
      };
    },

    async destinationHistory(em: EntityManager, payeeId: string, kind?: DestinationKind) {
      return em.find(
        PayeeDestinationChange,
        { payeeId, ...(kind ? { kind } : {}) },
        { orderBy: { id: 'asc' } },
      );
    },
  };
}

export type PayeeService = ReturnType<typeof createPayeeService>;
