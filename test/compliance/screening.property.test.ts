// Property tests of the screening fold (issue 14, finding 3): whatever default-ignorable code points are
// inserted into a listed name or identifier, and whatever characters are swapped for a UTS #39 confusable
// (a code point with the same prototype in Unicode's confusables.txt), in any case, it is still a match.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { buildSanctionsList, confusablesOf } from '../../src/compliance/index.ts';

const TOKENS = ['ivan', 'sanctionov', 'john', 'doe', 'maria', 'garcia', 'acme', 'trading', 'boris', 'petrov'];
// Default_Ignorable_Code_Point samples: soft hyphen, combining grapheme joiner, Hangul fillers, Khmer
// inherent vowel, Mongolian vowel separator, ZWSP/ZWNJ/ZWJ, LRM/RLM, bidi embeddings and isolates, word
// joiner, invisible operators, BOM, variation selectors (BMP and supplementary), tags, an unassigned one.
const IGNORABLES = [
  0xad, 0x34f, 0x115f, 0x1160, 0x17b4, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202e, 0x2060,
  0x2063, 0x2066, 0x2069, 0x3164, 0xfe00, 0xfe0f, 0xfeff, 0xffa0, 0x1d173, 0xe0001, 0xe0041, 0xe01ef, 0xe0fff,
].map((c) => String.fromCodePoint(c));

const ignorable = fc.constantFrom(...IGNORABLES);

/** Each character of `text` as itself, in either case, or as one of its confusables. */
const spoofed = (text: string) =>
  fc
    .tuple(
      ...[...text].map((ch) => {
        const options = [ch, ch.toUpperCase(), ...confusablesOf(ch), ...confusablesOf(ch.toUpperCase())];
        return fc.constantFrom(...new Set(options));
      }),
    )
    .map((chars) => chars.join(''));

/** `text` with ignorables inserted at random places. */
const withIgnorables = (text: string) =>
  fc.array(fc.tuple(fc.nat({ max: text.length }), ignorable), { maxLength: 6 }).map((inserts) => {
    const chars = [...text];
    for (const [at, ig] of [...inserts].sort((a, b) => b[0] - a[0])) chars.splice(at, 0, ig);
    return chars.join('');
  });

const listedName = fc.uniqueArray(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 3 });

describe('property: screening fold', () => {
  it('every confusable has a different code point and the same prototype (the generator is not empty)', () => {
    expect(confusablesOf('o').length).toBeGreaterThan(10);
    expect(confusablesOf('i')).toContain('\u0456');
    expect(confusablesOf('I')).toContain('\u0406');
  });

  it('a listed name with ignorables inserted and characters swapped for confusables is still held', () => {
    fc.assert(
      fc.property(
        listedName.chain((tokens) =>
          fc.tuple(
            fc.constant(tokens),
            fc
              .shuffledSubarray(tokens, { minLength: tokens.length, maxLength: tokens.length })
              .chain((order) => spoofed(order.join(' ')).chain(withIgnorables)),
          ),
        ),
        ([tokens, candidate]) => {
          const list = buildSanctionsList([
            { kind: 'name', value: tokens.join(' '), source: 'S', reference: 'R' },
          ]);
          expect(list.matchName(candidate)).toEqual({ kind: 'name', source: 'S', reference: 'R' });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a listed name written on the list with confusables and ignorables still holds its plain spelling', () => {
    fc.assert(
      fc.property(
        listedName.chain((tokens) =>
          fc.tuple(fc.constant(tokens), spoofed(tokens.join(' ')).chain(withIgnorables)),
        ),
        ([tokens, listed]) => {
          const list = buildSanctionsList([{ kind: 'name', value: listed, source: 'S', reference: 'R' }]);
          expect(list.matchName(tokens.join(' '))?.reference).toBe('R');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a listed identifier with ignorables inserted and characters swapped for confusables is still held', () => {
    fc.assert(
      fc.property(
        fc
          .stringMatching(/^[A-Z]{2}[0-9A-Z]{8,20}$/)
          .chain((id) => fc.tuple(fc.constant(id), spoofed(id).chain(withIgnorables))),
        ([id, candidate]) => {
          const list = buildSanctionsList([{ kind: 'identifier', value: id, source: 'S', reference: 'R' }]);
          expect(list.matchIdentifier(candidate)?.reference).toBe('R');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a different name is not held (the fold does not collapse distinct listed names)', () => {
    fc.assert(
      fc.property(listedName, listedName, (a, b) => {
        fc.pre([...a].sort().join(' ') !== [...b].sort().join(' '));
        const list = buildSanctionsList([{ kind: 'name', value: a.join(' '), source: 'S', reference: 'R' }]);
        expect(list.matchName(b.join(' '))).toBeUndefined();
      }),
    );
  });
});
