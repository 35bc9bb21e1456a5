import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CsvError, neutraliseFormula, parseCsv, toCsv } from '../../src/shared/csv.ts';

describe('csv', () => {
  it('quotes per RFC 4180 and uses CRLF', () => {
    expect(
      toCsv([
        ['a', 'b,c', 'say "hi"', 'two\nlines'],
        ['', 'x'],
      ]),
    ).toBe('a,"b,c","say ""hi""","two\nlines"\r\n,x\r\n');
  });

  it('parses quoted fields, embedded newlines and reports record start lines', () => {
    const records = parseCsv('h1,h2\n"multi\nline",x\r\n\nlast,"q""q"');
    expect(records).toEqual([
      { line: 1, fields: ['h1', 'h2'] },
      { line: 2, fields: ['multi\nline', 'x'] },
      { line: 5, fields: ['last', 'q"q'] },
    ]);
  });

  it.each([
    ['a,"b"c', /after closing quote/],
    ['a,b"c', /unquoted field/],
    ['ok\n"open', /line 2: unterminated/],
  ])('rejects %p', (text, message) => {
    expect(() => parseCsv(text)).toThrow(CsvError);
    expect(() => parseCsv(text)).toThrow(message);
  });

  it('neutralises formulas in operator-facing text', () => {
    expect(neutraliseFormula('=HYPERLINK("x")')).toBe('\'=HYPERLINK("x")');
    expect(neutraliseFormula('Alice')).toBe('Alice');
  });

  it('property: parse(toCsv(rows)) = rows', () => {
    const field = fc.string({ unit: fc.constantFrom('a', 'Z', ',', '"', '\n', '\r', ' ', 'é') });
    const rows = fc.array(fc.array(field, { minLength: 2, maxLength: 5 }), { maxLength: 6 });
    fc.assert(
      fc.property(rows, (rs) => {
        expect(parseCsv(toCsv(rs)).map((r) => r.fields)).toEqual(rs);
      }),
    );
  });
});
