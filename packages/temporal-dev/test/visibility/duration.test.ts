import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parseDuration } from '../../src/visibility/values.ts';

describe('ExecutionDuration values', () => {
  it('reads Go durations, days and hh:mm:ss as nanoseconds', () => {
    expect(parseDuration('90s')).toBe(90_000_000_000n);
    expect(parseDuration('1h30m')).toBe(5_400_000_000_000n);
    expect(parseDuration('1.5s')).toBe(1_500_000_000n);
    expect(parseDuration('150ms')).toBe(150_000_000n);
    expect(parseDuration('2d')).toBe(172_800_000_000_000n);
    expect(parseDuration('01:00:05')).toBe(3_605_000_000_000n);
  });

  it('rejects what is not a duration', () => {
    for (const bad of ['', 'soon', '1x', '1h 30m', '-1s', '12:60:00'])
      expect(parseDuration(bad)).toBeUndefined();
  });

  it('sums the parts of a compound duration', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(59), fc.nat(59), (h, m, s) => {
        expect(parseDuration(`${h}h${m}m${s}s`)).toBe(
          parseDuration(`${h}h`)! + parseDuration(`${m}m`)! + parseDuration(`${s}s`)!,
        );
      }),
    );
  });
});
