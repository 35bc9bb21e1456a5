// Property tests for the compliance gate: a payout is blocked iff KYC is not verified or the payee name or a
// destination identifier is on the sanctions list (one reason per check, stable codes and order); backup
// withholding applies iff no tax form is on file, at the configured rate, computed in exact integer
// arithmetic (half-up) and posted as its own leg so that the legs add up to the gross.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  buildSanctionsList,
  type ComplianceFacts,
  type ComplianceReasonCode,
  checkCompliance,
  type SanctionsEntry,
  type TaxForm,
} from '../../src/compliance/index.ts';
import { computePayoutBreakdown } from '../../src/fees/index.ts';

const TOKENS = ['john', 'doe', 'ivan', 'petrov', 'acme', 'trading', 'ltd', 'maria', 'garcia', 'li'];
const token = fc.constantFrom(...TOKENS);
/** A name as a set of tokens; the oracle compares sorted lower-case tokens. */
const nameTokens = fc.uniqueArray(token, { minLength: 1, maxLength: 3 });
const identifier = fc.stringMatching(/^[A-Z0-9]{6,12}$/);

/** The same name as someone might type it: shuffled tokens, any case, commas and extra spaces. */
const spelling = (tokens: string[]) =>
  fc
    .tuple(
      fc.shuffledSubarray(tokens, { minLength: tokens.length, maxLength: tokens.length }),
      fc.array(fc.constantFrom(' ', ', ', '  ', ' - '), {
        minLength: tokens.length,
        maxLength: tokens.length,
      }),
      fc.array(fc.boolean(), { minLength: tokens.length, maxLength: tokens.length }),
    )
    .map(([order, seps, upper]) =>
      order.map((t, i) => (upper[i] ? t.toUpperCase() : t) + (i < order.length - 1 ? seps[i] : '')).join(''),
    );

/** The same identifier with spaces/dashes inserted and any case. */
const identifierSpelling = (id: string) =>
  fc.array(fc.constantFrom('', ' ', '-'), { minLength: id.length, maxLength: id.length }).chain((seps) =>
    fc.boolean().map((lower) => {
      const s = [...id].map((ch, i) => ch + seps[i]).join('');
      return lower ? s.toLowerCase() : s;
    }),
  );

const key = (tokens: string[]) => [...tokens].sort().join(' ');

const scenario = fc
  .record({
    listedNames: fc.array(nameTokens, { maxLength: 4 }),
    listedIds: fc.array(identifier, { maxLength: 4 }),
    payeeTokens: nameTokens,
    payeeIds: fc.array(identifier, { maxLength: 3 }),
    // Sometimes take the payee's name or an identifier from the list, so matches are frequent.
    reuseListedName: fc.boolean(),
    reuseListedId: fc.boolean(),
    kycStatus: fc.constantFrom('verified', 'pending', 'rejected', 'not_started'),
    taxForm: fc.constantFrom<TaxForm>('W9', 'W8BEN', 'none'),
    withholdingRateBps: fc.integer({ min: 0, max: 10_000 }),
  })
  .chain((s) => {
    const payeeTokens = s.reuseListedName && s.listedNames.length > 0 ? s.listedNames[0]! : s.payeeTokens;
    const ids = s.reuseListedId && s.listedIds.length > 0 ? [...s.payeeIds, s.listedIds[0]!] : s.payeeIds;
    return fc
      .tuple(spelling(payeeTokens), fc.tuple(...ids.map(identifierSpelling)))
      .map(([payeeName, destinationIdentifiers]) => ({
        ...s,
        payeeTokens,
        ids,
        payeeName,
        destinationIdentifiers,
      }));
  });

describe('property: compliance gate', () => {
  it('blocks iff KYC is not verified or a sanctions match, one reason per check, in a stable order', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const entries: SanctionsEntry[] = [
          ...s.listedNames.map((t, i) => ({
            kind: 'name' as const,
            value: t.join(' '),
            source: 'SDN',
            reference: `N${i}`,
          })),
          ...s.listedIds.map((v, i) => ({
            kind: 'identifier' as const,
            value: v,
            source: 'EU',
            reference: `I${i}`,
          })),
        ];
        const policy = { sanctions: buildSanctionsList(entries), withholdingRateBps: s.withholdingRateBps };
        const facts: ComplianceFacts = {
          kycStatus: s.kycStatus,
          taxForm: s.taxForm,
          payeeName: s.payeeName,
          destinationIdentifiers: s.destinationIdentifiers,
        };
        const result = checkCompliance(facts, policy);

        const nameListed = s.listedNames.some((t) => key(t) === key(s.payeeTokens));
        const idListed = s.ids.some((id) => s.listedIds.includes(id));
        const expected: ComplianceReasonCode[] = [];
        if (s.kycStatus !== 'verified') expected.push('kyc_not_verified');
        if (nameListed) expected.push('sanctions_name_match');
        if (idListed) expected.push('sanctions_identifier_match');
        expect(result.blocked.map((r) => r.code)).toEqual(expected);
        expect(result.blocked.length > 0).toBe(s.kycStatus !== 'verified' || nameListed || idListed);
        // Withholding never blocks, and applies iff no tax form is on file, at the configured rate.
        expect(result.withholdingBps).toBe(s.taxForm === 'none' ? s.withholdingRateBps : 0);
        // The destination identifiers never appear in a reason (reasons end up in history and webhooks).
        for (const r of result.blocked) for (const id of s.ids) expect(r.message).not.toContain(id);
      }),
      { numRuns: 500 },
    );
  });

  it('withholding is gross × rate / 10 000 rounded half-up, exact for any size, and the legs add up', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 24n }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.constantFrom<TaxForm>('W9', 'W8BEN', 'none'),
        fc.boolean(),
        (gross, rate, taxForm, instant) => {
          const sanctions = buildSanctionsList([]);
          const { withholdingBps } = checkCompliance(
            { kycStatus: 'verified', taxForm, payeeName: 'Alice', destinationIdentifiers: [] },
            { sanctions, withholdingRateBps: rate },
          );
          const legs = computePayoutBreakdown(
            { amount: gross.toString(), currency: 'USD', scale: 2 },
            {
              instant,
              feeSchedule: { USD: { fixedMinor: 25n, bps: 100 } },
              withholdingBps,
            },
          );
          const withheld = BigInt(legs.withholding.amount);
          if (taxForm !== 'none') {
            expect(withheld).toBe(0n);
          } else {
            // Half-up: withheld × 10 000 − 5 000 ≤ gross × rate < withheld × 10 000 + 5 000.
            const exact = gross * BigInt(rate);
            expect(withheld * 10_000n - 5_000n <= exact).toBe(true);
            expect(exact < withheld * 10_000n + 5_000n).toBe(true);
          }
          for (const leg of Object.values(legs)) expect(leg.amount).toMatch(/^\d+$/);
          expect(
            BigInt(legs.instantFee.amount) + withheld + BigInt(legs.net.amount) === BigInt(legs.gross.amount),
          ).toBe(true);
          expect(legs.gross.amount).toBe(gross.toString());
        },
      ),
      { numRuns: 500 },
    );
  });
});
