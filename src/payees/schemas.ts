// Request and response schemas of the payee API; the OpenAPI document is generated from these.
import { z } from 'zod';
import { destinationKinds } from './destinations.ts';

export const kycStatuses = ['pending', 'verified', 'rejected'] as const;
export type KycStatus = (typeof kycStatuses)[number];

export const payeeIdSchema = z
  .string()
  .regex(/^pe_[0-9a-f]{24}$/, 'must be a payee id such as pe_0123456789abcdef01234567')
  .meta({ description: 'Payee id assigned by Disburse', examples: ['pe_3f9a0c1e6a7d4e0a9d435b8c'] });

const externalId = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'must be 1-100 characters of letters, digits and . _ : -')
  .describe("The platform's own id for this payee (unique)");

const taxProfileInput = z
  .discriminatedUnion('form', [
    z
      .strictObject({
        form: z.literal('w9').describe('IRS Form W-9 on file'),
        tin: z
          .string()
          .regex(/^\d{3}-?\d{2}-?\d{4}$|^\d{2}-?\d{7}$/, 'must be a 9-digit SSN or EIN')
          .describe('Taxpayer identification number (SSN or EIN); stored encrypted'),
      })
      .describe('W-9 with TIN'),
    z.strictObject({ form: z.literal('w8ben').describe('IRS Form W-8BEN on file') }).describe('W-8BEN'),
    z.strictObject({ form: z.literal('none').describe('No tax form on file') }).describe('No tax form'),
  ])
  .meta({
    id: 'TaxProfileInput',
    description: 'Tax form on file; payouts without one are withheld at the configured rate',
  });

const payoutPreferencesInput = z
  .strictObject({
    preferredMethod: z
      .enum(destinationKinds)
      .nullable()
      .optional()
      .describe('Destination kind to pay to by default'),
    instantOptIn: z.boolean().optional().describe('Pay instantly (with the instant fee) when possible'),
    autoPayout: z.boolean().optional().describe('Pay out automatically when earnings are credited'),
  })
  .meta({ id: 'PayoutPreferencesInput', description: 'How the payee wants to be paid' });

export const createPayeeBody = z
  .strictObject({
    externalId,
    name: z.string().trim().min(1).max(200).describe('Legal or display name'),
    email: z.email().max(254).describe('Contact email'),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as US')
      .describe('Country of residence (ISO 3166-1 alpha-2)'),
    defaultCurrency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
      .describe('Default payout currency (ISO 4217)'),
    kycStatus: z.enum(kycStatuses).optional().describe('KYC status (default pending)'),
    taxProfile: taxProfileInput.optional(),
    payoutPreferences: payoutPreferencesInput.optional(),
    sponsorId: payeeIdSchema.nullable().optional().describe('Payee id of the sponsor (upline)'),
  })
  .meta({ id: 'CreatePayee', description: 'A payee to register' });
export type CreatePayeeInput = z.output<typeof createPayeeBody>;

export const updatePayeeBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional().describe('Legal or display name'),
    email: z.email().max(254).optional().describe('Contact email'),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as US')
      .optional()
      .describe('Country of residence'),
    defaultCurrency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code')
      .optional()
      .describe('Default payout currency'),
    kycStatus: z.enum(kycStatuses).optional().describe('KYC status'),
    taxProfile: taxProfileInput.optional(),
    payoutPreferences: payoutPreferencesInput.optional(),
    sponsorId: payeeIdSchema.nullable().optional().describe('Payee id of the sponsor, or null'),
  })
  .meta({
    id: 'UpdatePayee',
    description: 'Fields to change. A payee token may change payoutPreferences only; externalId is immutable',
  });
export type UpdatePayeeInput = z.output<typeof updatePayeeBody>;

export const destinationView = z
  .object({
    kind: z.enum(destinationKinds).describe('Destination kind'),
    masked: z.string().describe('Last characters of the identifying number, e.g. ****6789'),
    details: z.record(z.string(), z.string()).describe('Non-sensitive fields; identifiers are masked'),
    addedAt: z.iso.datetime().describe('When a destination of this kind was first added'),
    changedAt: z.iso.datetime().describe('When it was last added or changed (risk cool-off starts here)'),
  })
  .meta({ id: 'Destination', description: 'A payout destination, masked' });
export type DestinationView = z.output<typeof destinationView>;

export const payeeView = z
  .object({
    id: payeeIdSchema,
    externalId,
    name: z.string().describe('Legal or display name'),
    email: z.string().describe('Contact email'),
    country: z.string().describe('Country of residence'),
    defaultCurrency: z.string().describe('Default payout currency'),
    kycStatus: z.enum(kycStatuses).describe('KYC status'),
    taxProfile: z
      .object({
        form: z.enum(['w9', 'w8ben', 'none']).describe('Tax form on file'),
        tin: z.string().optional().describe('Masked TIN (W-9 only)'),
      })
      .describe('Tax form on file'),
    payoutPreferences: z
      .object({
        preferredMethod: z.enum(destinationKinds).nullable().describe('Default destination kind'),
        instantOptIn: z.boolean().describe('Instant payouts opted in'),
        autoPayout: z.boolean().describe('Automatic payout on credit'),
      })
      .describe('How the payee wants to be paid'),
    sponsorId: z.string().nullable().describe('Sponsor payee id'),
    destinations: z.array(destinationView).describe('Destinations, masked'),
    createdAt: z.iso.datetime().describe('Creation time'),
    updatedAt: z.iso.datetime().describe('Last change'),
  })
  .meta({ id: 'Payee', description: 'A payee (seller) of the platform' });
export type PayeeView = z.output<typeof payeeView>;
