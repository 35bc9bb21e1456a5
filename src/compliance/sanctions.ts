// Sanctions screening list, loaded from a CSV file (see config/sanctions.sample.csv):
//
//   kind,value,source,reference
//   name,"DOE, John",OFAC-SDN,12345
//   identifier,DE89370400440532013000,EU-FSF,EU.123
//
// kind: `name` (a person or entity name) or `identifier` (IBAN, account number, wallet id, crypto address).
// Matching is exact after normalisation, never fuzzy; list entries and candidates are normalised alike,
// starting with the screening fold (skeleton.ts: NFKC, default-ignorable code points removed, diacritics
// removed, UTS #39 confusables skeleton, case-folded), so invisible characters and lookalike letters from
// other scripts do not get a listed name or account past the screen:
// - names: then punctuation dropped and tokens sorted — so "Doe, John", "JOHN DOE", "Jöhn  Doe",
//   "Jo\u00adhn Doe" and "Jоhn Doe" (Cyrillic о) match, "Jon Doe" does not;
// - identifiers: then spaces and dashes removed.
// Lines starting with # and blank lines are ignored. A malformed line fails the whole load with its line
// number: a partially loaded sanctions list is worse than none noticed.
import { readFile } from 'node:fs/promises';
import { CsvError, parseCsv } from '../shared/csv.ts';
import { screeningFold } from './skeleton.ts';

export interface SanctionsEntry {
  kind: 'name' | 'identifier';
  value: string;
  source: string;
  reference: string;
}

export interface SanctionsMatch {
  kind: 'name' | 'identifier';
  source: string;
  reference: string;
}

export interface SanctionsList {
  readonly size: number;
  matchName(name: string): SanctionsMatch | undefined;
  matchIdentifier(identifier: string): SanctionsMatch | undefined;
}

export class SanctionsListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SanctionsListError';
  }
}

export function normaliseName(name: string): string {
  return screeningFold(name)
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .sort()
    .join(' ');
}

export function normaliseScreenedIdentifier(identifier: string): string {
  return screeningFold(identifier).replace(/[\s\p{Pd}]/gu, '');
}

export function buildSanctionsList(entries: readonly SanctionsEntry[]): SanctionsList {
  const names = new Map<string, SanctionsMatch>();
  const identifiers = new Map<string, SanctionsMatch>();
  for (const e of entries) {
    const match = { kind: e.kind, source: e.source, reference: e.reference };
    if (e.kind === 'name') names.set(normaliseName(e.value), match);
    else identifiers.set(normaliseScreenedIdentifier(e.value), match);
  }
  return {
    size: names.size + identifiers.size,
    matchName: (name) => {
      const n = normaliseName(name);
      return n === '' ? undefined : names.get(n);
    },
    matchIdentifier: (id) => {
      const n = normaliseScreenedIdentifier(id);
      return n === '' ? undefined : identifiers.get(n);
    },
  };
}

export function parseSanctionsCsv(text: string, origin = 'sanctions list'): SanctionsEntry[] {
  let records: ReturnType<typeof parseCsv>;
  try {
    // Comment lines are blanked (not removed) so line numbers in errors still match the file.
    const uncommented = text
      .split('\n')
      .map((l) =>
        l
          .replace(/^\ufeff/, '')
          .trimStart()
          .startsWith('#')
          ? ''
          : l,
      )
      .join('\n');
    records = parseCsv(uncommented);
  } catch (err) {
    if (err instanceof CsvError) throw new SanctionsListError(`${origin}: ${err.message}`);
    throw err;
  }
  const entries: SanctionsEntry[] = [];
  let headerSeen = false;
  for (const { line, fields } of records) {
    if (!headerSeen) {
      headerSeen = true;
      const header = fields.map((f) => f.trim().toLowerCase()).join(',');
      if (header !== 'kind,value,source,reference') {
        throw new SanctionsListError(
          `${origin}: line ${line}: header must be "kind,value,source,reference", got "${fields.join(',')}"`,
        );
      }
      continue;
    }
    const [kind, value, source = '', reference = ''] = fields.map((f) => f.trim());
    if (fields.length > 4)
      throw new SanctionsListError(
        `${origin}: line ${line}: expected at most 4 fields, got ${fields.length}`,
      );
    if (kind !== 'name' && kind !== 'identifier') {
      throw new SanctionsListError(
        `${origin}: line ${line}: kind must be "name" or "identifier", got "${kind ?? ''}"`,
      );
    }
    if (!value) throw new SanctionsListError(`${origin}: line ${line}: value is empty`);
    entries.push({ kind, value, source, reference });
  }
  if (!headerSeen)
    throw new SanctionsListError(`${origin}: empty file (expected header "kind,value,source,reference")`);
  return entries;
}

export async function loadSanctionsList(path: string): Promise<SanctionsList> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SanctionsListError(
      `cannot read sanctions list at ${path}: ${(err as Error).message} (set payouts.sanctionsFile to a readable CSV)`,
    );
  }
  return buildSanctionsList(parseSanctionsCsv(text, path));
}
