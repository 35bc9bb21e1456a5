import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  buildSanctionsList,
  type ComplianceFacts,
  checkCompliance,
  loadSanctionsList,
  normaliseName,
  parseSanctionsCsv,
  SanctionsListError,
} from '../../src/compliance/index.ts';

const samplePath = new URL('../../config/sanctions.sample.csv', import.meta.url).pathname;

describe('sanctions list', () => {
  it('loads the sample file', async () => {
    const list = await loadSanctionsList(samplePath);
    expect(list.size).toBe(5);
    expect(list.matchName('John Doe')).toEqual({ kind: 'name', source: 'SAMPLE-SDN', reference: 'SDN-0001' });
    expect(list.matchIdentifier('de89370400440532013000')?.reference).toBe('EU-0043');
  });

  it.each([
    ['Doe, John', true],
    ['JOHN DOE', true],
    ['  john   doe ', true],
    ['Jöhn Doé', true],
    ['Jon Doe', false],
    ['John Doe Jr', false],
    ['', false],
  ])('name %p matches "Doe, John": %p', (name, hit) => {
    const list = buildSanctionsList([{ kind: 'name', value: 'Doe, John', source: 'S', reference: 'R' }]);
    expect(list.matchName(name) !== undefined).toBe(hit);
  });

  it('normalises names by tokens, each folded to its screening skeleton (m → rn, l → i)', () => {
    expect(normaliseName('Blocked Trading Company, Ltd.')).toBe('biocked cornpany itd trading');
    expect(normaliseName('Blocked Trading Company, Ltd.')).toBe(normaliseName('LTD TRADING COMPANY BLOCKED'));
  });

  // Issue 14, finding 3: each of these was paid while "Ivan Sanctionov" was held.
  it.each([
    ['soft hyphen', 'Iv\u00adan Sanctionov'],
    ['zero-width space', 'Iv\u200ban Sanctionov'],
    ['Cyrillic capital І', '\u0406van Sanctionov'],
    ['zero-width joiner and BOM', 'Iva\u200dn\ufeff Sanctionov'],
    ['Cyrillic а and о', 'Iv\u0430n Sancti\u043enov'],
    ['Greek capital Ι', '\u0399van Sanctionov'],
    ['fullwidth letters', '\uff29\uff56\uff41\uff4e Sanctionov'],
    ['mathematical bold', '\u{1d408}van Sanctionov'],
    ['combining marks', 'I\u0301va\u0308n Sanctionov'],
  ])('a listed name spelled with %s is still a match', (_what, name) => {
    const list = buildSanctionsList([
      { kind: 'name', value: 'Ivan Sanctionov', source: 'SDN', reference: '2' },
    ]);
    expect(list.matchName(name)?.reference).toBe('2');
  });

  it.each([
    ['zero-width space', 'DE89\u200b3704 0044 0532 0130 00'],
    ['Cyrillic Е', 'D\u041589370400440532013000'],
    ['letter O for zero', 'DE89370400440532O13OOO'],
  ])('a listed identifier spelled with %s is still a match', (_what, id) => {
    const list = buildSanctionsList([
      { kind: 'identifier', value: 'DE89370400440532013000', source: 'EU', reference: '43' },
    ]);
    expect(list.matchIdentifier(id)?.reference).toBe('43');
  });

  it.each([
    ['', /empty file/],
    ['kind,name\n', /header/],
    ['kind,value,source,reference\nperson,John,,\n', /line 2: kind must be/],
    ['kind,value,source,reference\n# c\nname,,S,R\n', /line 3: value is empty/],
    ['kind,value,source,reference\nname,"John,S,R\n', /unterminated/],
    ['kind,value,source,reference\nname,a,b,c,d\n', /line 2: expected at most 4 fields/],
  ])('rejects malformed file %#', (text, message) => {
    expect(() => parseSanctionsCsv(text)).toThrow(SanctionsListError);
    expect(() => parseSanctionsCsv(text)).toThrow(message);
  });

  it('reports an unreadable file with what to do', async () => {
    await expect(loadSanctionsList('/nonexistent/sanctions.csv')).rejects.toThrow(/payouts.sanctionsFile/);
  });

  it('loads a file written at runtime', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sanctions-'));
    const path = join(dir, 'list.csv');
    await writeFile(
      path,
      '\ufeffkind,value,source,reference\r\nidentifier,GB29-NWBK-6016-1331-9268-19,X,1\r\n',
    );
    const list = await loadSanctionsList(path);
    expect(list.matchIdentifier('GB29 NWBK 6016 1331 9268 19')?.source).toBe('X');
  });
});

describe('checkCompliance', () => {
  const sanctions = buildSanctionsList([
    { kind: 'name', value: 'Ivan Sanctionov', source: 'SDN', reference: '2' },
    { kind: 'identifier', value: 'DE89370400440532013000', source: 'EU', reference: '43' },
  ]);
  const policy = { sanctions, withholdingRateBps: 2400 };
  const ok: ComplianceFacts = {
    kycStatus: 'verified',
    taxForm: 'W9',
    payeeName: 'Alice Payee',
    destinationIdentifiers: ['US12345678'],
  };

  it.each<[string, Partial<ComplianceFacts>, string[], number]>([
    ['all clear with W-9', {}, [], 0],
    ['W-8BEN on file: no withholding', { taxForm: 'W8BEN' }, [], 0],
    ['no tax form: withheld, not blocked', { taxForm: 'none' }, [], 2400],
    ['KYC pending', { kycStatus: 'pending' }, ['kyc_not_verified'], 0],
    ['KYC rejected', { kycStatus: 'rejected' }, ['kyc_not_verified'], 0],
    ['sanctioned name', { payeeName: 'SANCTIONOV, Ivan' }, ['sanctions_name_match'], 0],
    [
      'sanctioned destination',
      { destinationIdentifiers: ['x', 'DE89 3704 0044 0532 0130 00'] },
      ['sanctions_identifier_match'],
      0,
    ],
    [
      'everything wrong',
      {
        kycStatus: 'not_started',
        taxForm: 'none',
        payeeName: 'Ivan Sanctionov',
        destinationIdentifiers: ['DE89370400440532013000'],
      },
      ['kyc_not_verified', 'sanctions_name_match', 'sanctions_identifier_match'],
      2400,
    ],
  ])('%s', (_label, overrides, codes, withholdingBps) => {
    const result = checkCompliance({ ...ok, ...overrides }, policy);
    expect(result.blocked.map((r) => r.code)).toEqual(codes);
    expect(result.withholdingBps).toBe(withholdingBps);
  });

  it('never echoes the destination identifier in a reason', () => {
    const result = checkCompliance({ ...ok, destinationIdentifiers: ['DE89370400440532013000'] }, policy);
    expect(JSON.stringify(result)).not.toContain('DE89');
  });
});
