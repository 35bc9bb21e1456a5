import { z } from 'zod';
import { parseBootstrapKeys } from '../auth/api-keys.ts';
import { type Keyring, parseKeyring } from '../crypto/keyring.ts';
import { defineConfigSection, intVar, type SectionValue } from './section.ts';

const base64Key = (what: string) =>
  z
    .string()
    .refine((s) => Buffer.from(s, 'base64').length >= 32, 'must be base64 of at least 32 random bytes')
    .transform((s) => Buffer.from(s, 'base64'))
    .optional()
    .describe(`base64 of >= 32 random bytes (${what}; e.g. \`openssl rand -base64 32\`)`);

function tryParse<T>(fn: () => T, ctx: z.RefinementCtx): T | undefined {
  try {
    return fn();
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}

export const securitySection = defineConfigSection(
  'security',
  z.object({
    DISBURSE_ENCRYPTION_KEYS: z
      .string()
      .transform((s, ctx) => tryParse(() => parseKeyring(s), ctx))
      .optional()
      .describe('kid1:base64key[,kid2:base64key…] — 32-byte AES keys, the first encrypts, all decrypt'),
    DISBURSE_FINGERPRINT_KEY: base64Key('HMAC key for destination fingerprints; never rotate casually'),
    DISBURSE_TOKEN_SIGNING_KEY: base64Key('HMAC key signing payee-scoped tokens'),
    DISBURSE_PAYEE_TOKEN_TTL_SECONDS: intVar(60, 7 * 24 * 3600, 3600).describe(
      'payee token lifetime in seconds, 60-604800 (default 3600)',
    ),
    DISBURSE_PAYEE_TOKEN_MAX_TTL_SECONDS: z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(
        z
          .number()
          .int()
          .min(60)
          .max(7 * 24 * 3600),
      )
      .optional()
      .describe(
        'longest payee token a caller may ask for, 60-604800 (default: DISBURSE_PAYEE_TOKEN_TTL_SECONDS)',
      ),
    DISBURSE_BOOTSTRAP_API_KEYS: z
      .string()
      .transform((s, ctx) => tryParse(() => parseBootstrapKeys(s), ctx))
      .optional()
      .describe('role:actor:dsb_<16 hex>_<43 chars>[,…] — API keys registered at start-up'),
    DISBURSE_TOTP_ISSUER: z.string().min(1).max(60).optional().describe('issuer shown in authenticator apps'),
  }),
  (v) => ({
    /** Unset: `npm start` generates development keys (src/auth/dev-secrets.ts); production must set them. */
    encryptionKeys: v.DISBURSE_ENCRYPTION_KEYS as Keyring | undefined,
    fingerprintKey: v.DISBURSE_FINGERPRINT_KEY,
    tokenSigningKey: v.DISBURSE_TOKEN_SIGNING_KEY,
    payeeTokenTtlSeconds: v.DISBURSE_PAYEE_TOKEN_TTL_SECONDS,
    payeeTokenMaxTtlSeconds: v.DISBURSE_PAYEE_TOKEN_MAX_TTL_SECONDS ?? v.DISBURSE_PAYEE_TOKEN_TTL_SECONDS,
    bootstrapApiKeys: v.DISBURSE_BOOTSTRAP_API_KEYS ?? [],
    totpIssuer: v.DISBURSE_TOTP_ISSUER ?? 'Disburse',
  }),
);

export type SecurityConfig = SectionValue<typeof securitySection>;
