// Destination kinds: request schemas (validated per kind), the normalised identifying parts (for the
// fingerprint), and the masked display fields that responses show instead of the clear values.
import { z } from 'zod';
import { mask, normaliseIdentifier } from '../crypto/index.ts';
import { cryptoAddressProblem, evmNetworks } from './crypto-address.ts';

export const destinationKinds = ['bank_account', 'wallet', 'card', 'crypto'] as const;
export type DestinationKind = (typeof destinationKinds)[number];

const country = z
  .string()
  .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as US or DE')
  .describe('ISO 3166-1 alpha-2 country code');
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
  .describe('ISO 4217 currency code');

export function ibanValid(raw: string): boolean {
  const iban = normaliseIdentifier(raw);
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const v = ch >= 'A' ? (ch.charCodeAt(0) - 55).toString() : ch;
    for (const d of v) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem === 1;
}

export function abaRoutingValid(routing: string): boolean {
  if (!/^\d{9}$/.test(routing)) return false;
  const d = [...routing].map(Number);
  const sum = 3 * (d[0]! + d[3]! + d[6]!) + 7 * (d[1]! + d[4]! + d[7]!) + (d[2]! + d[5]! + d[8]!);
  return sum % 10 === 0;
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let n = Number(digits[i]);
    if (double) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Countries whose postal addresses need a state / province / region for bank payouts (Wise asks it of US ones). */
const STATE_REQUIRED = new Set(['US', 'CA', 'AU']);

/**
 * The account holder's postal address. Some rails ask it of the recipient (Wise on USD and other routes: first
 * line, city, post code, country, and the state in the US); it is kept encrypted with the rest of the account.
 */
export const postalAddress = z
  .strictObject({
    line1: z.string().trim().min(1).max(200).describe('Street address, first line'),
    city: z.string().trim().min(1).max(85).describe('City or town'),
    postalCode: z
      .string()
      .trim()
      .regex(/^[0-9A-Za-z][0-9A-Za-z -]{1,14}$/, 'must be 2-15 letters, digits, spaces or dashes')
      .describe('Postal / ZIP code'),
    state: z
      .string()
      .trim()
      .regex(/^[A-Z0-9]{1,3}$/, 'must be the ISO 3166-2 subdivision code without the country, e.g. IL or ON')
      .optional()
      .describe('State, province or region code (required for US, CA and AU addresses)'),
    country,
  })
  .superRefine((a, ctx) => {
    if (STATE_REQUIRED.has(a.country) && a.state === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['state'],
        message: `is required for an address in ${a.country}`,
      });
    }
    if (a.country === 'US' && !/^\d{5}(-\d{4})?$/.test(a.postalCode)) {
      ctx.addIssue({
        code: 'custom',
        path: ['postalCode'],
        message: 'must be a US ZIP code (12345 or 12345-6789)',
      });
    }
  })
  .meta({
    id: 'PostalAddress',
    description: "The account holder's postal address",
    examples: [
      { line1: '1 Main Street', city: 'Springfield', postalCode: '62701', state: 'IL', country: 'US' },
    ],
  });

export const bankAccountDestination = z
  .strictObject({
    holderName: z.string().trim().min(1).max(140).describe('Account holder name as the bank knows it'),
    country,
    currency,
    address: postalAddress
      .optional()
      .describe(
        "The holder's postal address: rails such as Wise ask it of USD recipients; without it they decline and " +
          'the payout fails over',
      ),
    iban: z.string().max(42).optional().describe('IBAN (mod-97 checked); give either iban or accountNumber'),
    accountNumber: z
      .string()
      .regex(/^[0-9A-Za-z -]{4,34}$/, 'must be 4-34 letters or digits')
      .optional()
      .describe('Domestic account number; requires routingNumber'),
    routingNumber: z
      .string()
      .regex(/^[0-9A-Za-z -]{3,20}$/, 'must be 3-20 letters or digits')
      .optional()
      .describe('Bank routing number (ABA for US, sort code, BSB, IFSC, …)'),
  })
  .superRefine((v, ctx) => {
    if (v.iban !== undefined) {
      if (!ibanValid(v.iban))
        ctx.addIssue({ code: 'custom', path: ['iban'], message: 'is not a valid IBAN (check digits)' });
      if (v.accountNumber !== undefined || v.routingNumber !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['iban'],
          message: 'give either iban or accountNumber+routingNumber, not both',
        });
      }
    } else {
      if (v.accountNumber === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['accountNumber'],
          message: 'is required when no iban is given',
        });
      }
      if (v.routingNumber === undefined) {
        ctx.addIssue({ code: 'custom', path: ['routingNumber'], message: 'is required with accountNumber' });
      } else if (v.country === 'US' && !abaRoutingValid(normaliseIdentifier(v.routingNumber))) {
        ctx.addIssue({
          code: 'custom',
          path: ['routingNumber'],
          message: 'is not a valid US ABA routing number',
        });
      }
    }
  })
  .meta({
    id: 'BankAccountDestinationInput',
    description: 'Bank account: IBAN, or account number + routing number',
    examples: [
      { holderName: 'Ada Lovelace', country: 'GB', currency: 'GBP', iban: 'GB82WEST12345698765432' },
    ],
  });

export const walletDestination = z
  .strictObject({
    provider: z
      .string()
      .regex(/^[a-z0-9_-]{2,40}$/, 'must be a lower-case provider or network name such as paypal')
      .describe('Wallet provider or network, e.g. paypal, venmo, mpesa'),
    walletId: z
      .string()
      .regex(/^[A-Za-z0-9@._+:-]{3,128}$/, 'must be 3-128 characters of letters, digits and @ . _ + : -')
      .describe('Wallet identifier at the provider (email, phone or account id)'),
  })
  .meta({ id: 'WalletDestinationInput', description: 'Digital wallet at a provider' });

export const cardDestination = z
  .strictObject({
    cardToken: z
      .string()
      .regex(/^[A-Za-z0-9_:-]{8,128}$/, 'must be 8-128 characters of letters, digits and _ : -')
      .refine(
        (t) => !(/^\d{13,19}$/.test(t) && luhnValid(t)),
        'looks like a card number: send the provider vault token, never the card number',
      )
      .describe('Push-to-card token from the card vault / provider (never a card number)'),
  })
  .meta({ id: 'CardDestinationInput', description: 'Debit or prepaid card, by provider token' });

export const cryptoNetworks = [...evmNetworks, 'bitcoin', 'solana', 'tron'] as const;
const addressPatterns: Record<(typeof cryptoNetworks)[number], RegExp> = {
  ethereum: /^0x[0-9a-fA-F]{40}$/,
  polygon: /^0x[0-9a-fA-F]{40}$/,
  base: /^0x[0-9a-fA-F]{40}$/,
  arbitrum: /^0x[0-9a-fA-F]{40}$/,
  bitcoin: /^(bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})$/,
  solana: /^[1-9A-HJ-NP-Za-km-z]{32,44}$/,
  tron: /^T[1-9A-HJ-NP-Za-km-z]{33}$/,
};

export const cryptoDestination = z
  .strictObject({
    network: z.enum(cryptoNetworks).describe('Blockchain network'),
    address: z.string().max(128).describe('Receiving address, in the format of the network'),
  })
  .superRefine((v, ctx) => {
    if (!addressPatterns[v.network].test(v.address)) {
      ctx.addIssue({ code: 'custom', path: ['address'], message: `is not a valid ${v.network} address` });
      return;
    }
    // Checksums (EIP-55 on mixed-case EVM addresses, Solana's 32-byte key): a typo must not receive money.
    const problem = cryptoAddressProblem(v.network, v.address);
    if (problem) ctx.addIssue({ code: 'custom', path: ['address'], message: problem });
  })
  .meta({ id: 'CryptoDestinationInput', description: 'Crypto address on a network' });

export const destinationSchemas = {
  bank_account: bankAccountDestination,
  wallet: walletDestination,
  card: cardDestination,
  crypto: cryptoDestination,
} as const;

export type BankAccountDestination = z.output<typeof bankAccountDestination>;
export type PostalAddressDetails = z.output<typeof postalAddress>;
export type WalletDestination = z.output<typeof walletDestination>;
export type CardDestination = z.output<typeof cardDestination>;
export type CryptoDestination = z.output<typeof cryptoDestination>;

export type DestinationDetails =
  | { kind: 'bank_account'; details: BankAccountDestination }
  | { kind: 'wallet'; details: WalletDestination }
  | { kind: 'card'; details: CardDestination }
  | { kind: 'crypto'; details: CryptoDestination };

/** Normalised identifying parts: what makes two destinations "the same" for the shared-destination rule. */
export function identifyingParts(d: DestinationDetails): string[] {
  switch (d.kind) {
    case 'bank_account':
      return d.details.iban !== undefined
        ? ['iban', normaliseIdentifier(d.details.iban)]
        : [
            'domestic',
            d.details.country,
            normaliseIdentifier(d.details.routingNumber ?? ''),
            normaliseIdentifier(d.details.accountNumber ?? ''),
          ];
    case 'wallet':
      // Stripe account ids (acct_…) are case-sensitive: the adapter needs them exactly as given.
      return [d.details.provider, normaliseIdentifier(d.details.walletId, d.details.provider === 'stripe')];
    case 'card':
      return [normaliseIdentifier(d.details.cardToken, true)];
    case 'crypto':
      return [
        d.details.network,
        normaliseIdentifier(
          d.details.address,
          !(evmNetworks as readonly string[]).includes(d.details.network),
        ),
      ];
  }
}

/** Masked, display-safe fields. The only destination data that ever appears in a response. */
export function displayFields(d: DestinationDetails): { masked: string; details: Record<string, string> } {
  switch (d.kind) {
    case 'bank_account': {
      const {
        holderName,
        country: c,
        currency: cur,
        iban,
        accountNumber,
        routingNumber,
        address,
      } = d.details;
      const masked = mask(iban ?? accountNumber ?? '');
      return {
        masked,
        details: {
          holderName,
          country: c,
          currency: cur,
          // Whether an address is on file, and its country; the address itself stays encrypted.
          ...(address !== undefined ? { address: `on file (${address.country})` } : {}),
          ...(iban !== undefined ? { iban: masked } : {}),
          ...(accountNumber !== undefined ? { accountNumber: masked } : {}),
          ...(routingNumber !== undefined ? { routingNumber: mask(routingNumber) } : {}),
        },
      };
    }
    case 'wallet':
      return {
        masked: mask(d.details.walletId),
        details: { provider: d.details.provider, walletId: mask(d.details.walletId) },
      };
    case 'card':
      return { masked: mask(d.details.cardToken), details: { cardToken: mask(d.details.cardToken) } };
    case 'crypto':
      return {
        masked: mask(d.details.address),
        details: { network: d.details.network, address: mask(d.details.address) },
      };
  }
}
