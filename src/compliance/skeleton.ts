// Screening folds: what a sanctions list entry and a candidate are compared as. Exact matching of the raw
// text was evaded by a soft hyphen ("Iv\u00adan"), a zero-width space ("Iv\u200ban") and a Cyrillic І
// ("\u0406van"), all paid while "Ivan Sanctionov" was held (issue 14). Both sides go through the same fold:
//   1. Default_Ignorable_Code_Point removed (soft hyphen, zero-width space/joiners, BOM, variation selectors…);
//   2. NFD, and combining marks removed once mapped (diacritics: "Jöhn" is "John");
//   3. NFKC (fullwidth, ligatures, mathematical letters → plain letters), between two passes of
//   4. the UTS #39 confusable skeleton (Unicode confusables.txt 13.0.0, as shipped by the unhomoglyph
//      package), applied before and after lower-casing, because the data maps capital and small letters to
//      different prototypes (Cyrillic В → B but в → ʙ);
//   5. lower-case, and l/i identified (the data maps capital I to l, small i to itself).
// The result is for comparison only, never shown. It over-matches on purpose (rn and m, 0 and O, 1 and l
// are one): a screening false positive is a hold an operator clears, a false negative is a sanctioned payee
// paid. Multi-character confusables in the candidate ("rn" typed for "m") fold only one way (m → rn).
import { createRequire } from 'node:module';

const prototypes: Readonly<Record<string, string>> = createRequire(import.meta.url)('unhomoglyph/data.json');

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const MARKS = /\p{M}/gu;

/** The UTS #39 prototype of each code point, then NFD without marks. */
function confusableSkeleton(text: string): string {
  let out = '';
  for (const ch of text) out += prototypes[ch] ?? ch;
  return out.normalize('NFD').replace(MARKS, '');
}

/** The screening fold of any text (see the header). */
export function screeningFold(text: string): string {
  // Marks go only after the prototypes: some spacing marks are confusables themselves (Sinhala ං → o).
  const plain = text.replace(IGNORABLE, '').normalize('NFD');
  // Prototypes before NFKC too: NFKC turns some confusables into letters that are not (Greek ϲ → ς).
  const compat = confusableSkeleton(plain).normalize('NFKC').replace(IGNORABLE, '');
  const folded = confusableSkeleton(confusableSkeleton(compat).toLowerCase()).toLowerCase();
  return folded.replace(/l/g, 'i');
}

let byPrototype: Map<string, string[]> | undefined;

/** Code points whose prototype is the same as `ch`'s (for tests and diagnostics). */
export function confusablesOf(ch: string): string[] {
  if (!byPrototype) {
    byPrototype = new Map();
    for (const [k, v] of Object.entries(prototypes)) byPrototype.set(v, [...(byPrototype.get(v) ?? []), k]);
  }
  return (byPrototype.get(prototypes[ch] ?? ch) ?? []).filter((k) => k !== ch);
}
