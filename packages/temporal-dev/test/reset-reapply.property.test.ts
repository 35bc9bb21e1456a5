// The reset reapply decision (reset.ts): the deprecated reset_reapply_type narrows what is reapplied,
// reset_reapply_exclude_types removes kinds, as the official server's GetResetReapplyExcludeTypes.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { reapplied } from '../src/reset.ts';

const SIGNAL_ONLY = 1;
const NONE = 2;
const EXCLUDE_SIGNAL = 1;
const EXCLUDE_UPDATE = 2;

describe('reset reapply types', () => {
  it('reapplies a kind unless the reapply type leaves it out or an exclude type names it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.integer({ min: 0, max: 4 })),
        (type, exclude) => {
          const got = reapplied(type, exclude);
          expect(got.signals).toBe(type !== NONE && !exclude.includes(EXCLUDE_SIGNAL));
          expect(got.updates).toBe(
            type !== NONE && type !== SIGNAL_ONLY && !exclude.includes(EXCLUDE_UPDATE),
          );
        },
      ),
    );
  });
});
