// Spendback and promotional credit settings: grant validity, the "expiring soon" notice, and the versioned
// automated rules (JSON inline in SPENDBACK_RULES, or a file named by SPENDBACK_RULES_FILE).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { NO_RULES, parseRulesJson, type SpendbackRules } from '../spendback/rules.ts';
import { parseDuration } from './payouts.ts';
import { defineConfigSection, type SectionValue } from './section.ts';

function refined<T>(parse: (s: string) => T) {
  return (s: string, ctx: z.RefinementCtx): T => {
    try {
      return parse(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  };
}

function readRulesFile(path: string): SpendbackRules {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  return parseRulesJson(text);
}

export const spendbackSection = defineConfigSection(
  'spendback',
  z.object({
    SPENDBACK_GRANT_VALIDITY: z
      .string()
      .default('90d')
      .transform(refined(parseDuration))
      .refine((ms) => ms >= 3_600_000, 'must be at least 1h')
      .describe('how long a promotional credit grant lasts unless the grant says otherwise (default 90d)'),
    SPENDBACK_EXPIRY_NOTICE: z
      .string()
      .default('7d')
      .transform(refined(parseDuration))
      .describe('how long before expiry the credit.expiring_soon webhook is sent (default 7d)'),
    SPENDBACK_RULES: z
      .string()
      .optional()
      .transform((s, ctx) => (s === undefined ? undefined : refined(parseRulesJson)(s, ctx)))
      .describe('the automated rules as JSON {"version":"…","rules":[…]} (see src/spendback/rules.ts)'),
    SPENDBACK_RULES_FILE: z
      .string()
      .optional()
      .transform((s, ctx) => (s === undefined ? undefined : refined(readRulesFile)(s, ctx)))
      .describe('path of a JSON rules file (used when SPENDBACK_RULES is not set)'),
  }),
  (v) => ({
    grantValidityMs: v.SPENDBACK_GRANT_VALIDITY,
    expiryNoticeMs: v.SPENDBACK_EXPIRY_NOTICE,
    rules: v.SPENDBACK_RULES ?? v.SPENDBACK_RULES_FILE ?? NO_RULES,
  }),
);

export type SpendbackConfig = SectionValue<typeof spendbackSection>;
