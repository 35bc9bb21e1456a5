import { defineEntity, p } from '@mikro-orm/postgresql';

export const Payee = defineEntity({
  name: 'Payee',
  tableName: 'payees',
  properties: {
    id: p.string().primary(),
    externalId: p.string().unique(),
    name: p.string(),
    email: p.string(),
    country: p.string(),
    defaultCurrency: p.string(),
    kycStatus: p.string(),
    taxForm: p.string(),
    /** W-9 TIN, AES-GCM envelope (never returned in clear). */
    taxTinCiphertext: p.string().nullable(),
    taxTinLast4: p.string().nullable(),
    preferredMethod: p.string().nullable(),
    instantOptIn: p.boolean(),
    autoPayout: p.boolean(),
    sponsorId: p.string().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

/** One destination per payee and kind; the identifying fields live only in `ciphertext`. */
export const PayeeDestination = defineEntity({
  name: 'PayeeDestination',
  tableName: 'payee_destinations',
  properties: {
    payeeId: p.string().primary(),
    kind: p.string().primary(),
    ciphertext: p.string(),
    keyId: p.string(),
    fingerprint: p.string(),
    /** Non-sensitive, already-masked fields shown in responses. */
    display: p.json<Record<string, string>>(),
    addedAt: p.datetime(),
    changedAt: p.datetime(),
  },
  primaryKeys: ['payeeId', 'kind'],
});

/** History of destination additions and changes (risk cool-off, investigations). */
export const PayeeDestinationChange = defineEntity({
  name: 'PayeeDestinationChange',
  tableName: 'payee_destination_changes',
  properties: {
    id: p.bigint('string').primary(),
    payeeId: p.string(),
    kind: p.string(),
    change: p.string(),
    fingerprint: p.string(),
    previousFingerprint: p.string().nullable(),
    actor: p.string(),
    at: p.datetime(),
  },
});

export const payeeEntities = [Payee, PayeeDestination, PayeeDestinationChange];
