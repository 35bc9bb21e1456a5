// The import rule (test/architecture/layers.ts) over the whole tree: a new violation fails CI with its
// file:line. `npx node test/architecture/report.ts` prints every violation, allowlisted ones included.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ALLOWLIST, allowKey } from './allowlist.ts';
import { parseImports, SCANNED_DIRS, scanImports, sourceFiles } from './imports.ts';
import { formatViolations, layerViolations } from './layers.ts';

const root = path.resolve(import.meta.dirname, '../..');

/** Violations of the given sources (file → text), as the rule sees a tree holding only them. */
function check(sources: Record<string, string>) {
  const files = Object.keys(sources);
  return layerViolations(
    files.flatMap((f) => parseImports(f, sources[f]!)),
    files,
  );
}

describe('the import rule', () => {
  const files = sourceFiles(root, SCANNED_DIRS);
  const violations = layerViolations(scanImports(root, SCANNED_DIRS), files);

  it('holds across src/, workflows/, activities/ and packages/ (but for the allowlist)', () => {
    const unexpected = violations.filter((v) => !ALLOWLIST.has(allowKey(v)));
    expect(formatViolations(unexpected)).toBe('');
  });

  it('has no allowlist entry left that no longer occurs (remove it)', () => {
    const occurring = new Set(violations.map(allowKey));
    expect([...ALLOWLIST.keys()].filter((k) => !occurring.has(k))).toEqual([]);
  });

  it('sees the whole tree', () => {
    expect(files.length).toBeGreaterThan(300);
    expect(files).toContain('workflows/payout.ts');
    expect(files).toContain('activities/payout.ts');
  });
});

describe('the parser', () => {
  it('tells type-only imports, re-exports and dynamic imports apart, with their lines', () => {
    const edges = parseImports(
      'src/x/a.ts',
      [
        '#!/usr/bin/env node',
        "import type { A } from './a.ts';",
        "import { type B, c } from '../b.ts'; // é",
        "import { type D } from 'node:fs';",
        "export * from './e.ts';",
        "export type { F } from './f.ts';",
        "const g = await import('../../g.ts');",
        "const text = `import x from './not-an-import.ts'`;",
      ].join('\n'),
    );
    expect(edges.map((e) => [e.line, e.target ?? e.specifier, e.typeOnly])).toEqual([
      [2, 'src/x/a.ts', true],
      [3, 'src/b.ts', false],
      [4, 'node:fs', true],
      [5, 'src/x/e.ts', false],
      [6, 'src/x/f.ts', true],
      [7, 'g.ts', false],
    ]);
  });
});

describe('the rule fails a new violation', () => {
  const rulesOf = (sources: Record<string, string>) =>
    check(sources).map((v) => `${v.file}:${v.line} ${v.rule}`);

  it('the domain importing the API, the composition roots or src/cli (outside a CLI)', () => {
    expect(
      rulesOf({
        'src/ledger/x.ts': "import { a } from '../api/app.ts';\nimport { b } from '../app/runtime.ts';",
        'src/ledger/y.ts':
          "import type { E } from '../http/errors.ts';\nimport { parse } from '../cli/args.ts';",
        'src/ledger/z-cli.ts': "import { parse } from '../cli/args.ts';",
        'src/api/route.ts': "import { Ledger } from '../ledger/x.ts';",
      }),
    ).toEqual([
      'src/ledger/x.ts:1 the domain does not import the delivery layers (src/api/, src/http/, src/console/, src/cli/, src/demo/)',
      'src/ledger/x.ts:2 the domain does not import the composition roots',
      'src/ledger/y.ts:1 the domain does not import the delivery layers (src/api/, src/http/, src/console/, src/cli/, src/demo/)',
      'src/ledger/y.ts:2 only a CLI (*-cli.ts) imports src/cli',
    ]);
  });

  it('a workflow importing I/O, an impure src module or an activity, or re-exporting src/', () => {
    expect(
      rulesOf({
        'workflows/w.ts': [
          "import { proxyActivities } from '@temporalio/workflow';",
          "import { createHash } from 'node:crypto';",
          "import { pure } from '../src/p/pure.ts';",
          "import { store } from '../src/p/store.ts';",
          "import type { Db } from '../src/p/store.ts';",
          "import { act } from '../activities/a.ts';",
          "import type * as acts from '../activities/a.ts';",
          "export type { Db } from '../src/p/store.ts';",
          "export { pure } from '../src/p/pure.ts';",
          "export * from './x.ts';",
        ].join('\n'),
        'src/p/pure.ts':
          "import { ApplicationFailure } from '@temporalio/common';\nimport { more } from './more.ts';",
        'src/p/more.ts': 'export const more = 1;',
        'src/p/store.ts': "import { sql } from '../db/sql.ts';",
        'src/db/sql.ts': "import pg from 'pg';",
        'activities/a.ts': "import { store } from '../src/p/store.ts';",
      }),
    ).toEqual([
      'workflows/w.ts:2 workflows run deterministic code: no node:crypto (only @temporalio/workflow, @temporalio/common)',
      'workflows/w.ts:4 workflows import from src/ only types and pure modules (no I/O, no packages but @temporalio/common)',
      'workflows/w.ts:6 workflows call activities through proxyActivities; import their types only',
      'workflows/w.ts:8 workflows re-export nothing from outside workflows/: import a name from its home',
      'workflows/w.ts:9 workflows re-export nothing from outside workflows/: import a name from its home',
    ]);
  });

  it('src importing activities or workflow internals, anything importing test/, a package leaving its root', () => {
    expect(
      rulesOf({
        'src/payouts/g.ts': [
          "import { start } from '../../workflows/payout-contract.ts';",
          "import type { payout } from '../../workflows/payout.ts';",
          "import { helper } from '../../workflows/payout.ts';",
          "import { act } from '../../activities/payout.ts';",
          "import { fake } from '../../test/support/db.ts';",
          "import { x } from '../../packages/temporal-dev/src/x.ts';",
          "import { y } from '@disburse/temporal-dev/testing';",
        ].join('\n'),
        'src/app/activities.ts': "import { act } from '../../activities/payout.ts';",
        'packages/temporal-dev/src/x.ts': "import { Ledger } from '../../../src/ledger/index.ts';",
      }),
    ).toEqual([
      "src/payouts/g.ts:3 src imports from workflows/ only types and the workflows' contracts (*-contract.ts)",
      'src/payouts/g.ts:4 only the composition roots (src/app, src/worker) import activities/',
      'src/payouts/g.ts:5 nothing imports test/',
      'src/payouts/g.ts:6 a workspace package is imported by its name, not by a path into packages/',
      'src/payouts/g.ts:7 only src/temporal/embedded-server.ts starts temporal-dev',
      'packages/temporal-dev/src/x.ts:1 a workspace package stands alone: packages/temporal-dev imports nothing outside it',
    ]);
  });
});

describe('the ledger tables', () => {
  it('are named only by src/ledger and the migrations (others use src/ledger/reads.ts)', () => {
    const outside = sourceFiles(root, SCANNED_DIRS).filter(
      (f) =>
        !f.startsWith('src/ledger/') &&
        !f.startsWith('src/db/migrations/') &&
        /\bledger_(accounts|entries|transactions)\b/.test(readFileSync(path.join(root, f), 'utf8')),
    );
    expect(outside.filter((f) => !LEDGER_TABLE_READERS.has(f))).toEqual([]);
    expect([...LEDGER_TABLE_READERS].filter((f) => !outside.includes(f))).toEqual([]);
  });
});

/** Files still reading the ledger tables themselves, being moved onto src/ledger/reads.ts (shrinking). */
const LEDGER_TABLE_READERS = new Set<string>([]);
