import { z } from 'zod';

/** Money on the wire: integer minor units as a string, ISO 4217 code (or a configured asset such as USDC), and
 * the currency's exponent. Whether the code is known is checked by the money module (unknown → 4xx). */
export const moneySchema = z
  .strictObject({
    amount: z
      .string()
      .regex(/^-?\d{1,19}$/, 'must be an integer number of minor units as a string, e.g. "1250" for 12.50')
      .describe('Integer minor units as a string (no decimals, no floats)'),
    currency: z
      .string()
      .regex(
        /^[A-Z][A-Z0-9]{2,9}$/,
        'must be an ISO 4217 code such as USD or a configured asset such as USDC',
      )
      .describe('ISO 4217 code, or a configured asset (DISBURSE_ASSETS, e.g. USDC)'),
    scale: z
      .number()
      .int()
      .min(0)
      .max(6)
      .describe("The currency's exponent (2 for USD: amount 1250 = 12.50)"),
  })
  .meta({
    id: 'Money',
    description: 'An amount of money in integer minor units',
    examples: [{ amount: '1250', currency: 'USD', scale: 2 }],
  });
