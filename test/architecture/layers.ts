// The import rule: which part of the code may import which. Layers, from the inside out:
//   workflows/   deterministic code replayed by Temporal; imports workflows/, @temporalio/workflow|common,
//                types from anywhere, and src/ modules that are pure (see `pureFiles`);
//   activities/  thin adapters: src/ and the workflows' contracts;
//   src/ domain  everything in src/ but the delivery and composition layers below; never imports them;
//   src/ delivery (api, http, console, cli, demo) and composition roots (app, worker, main.ts).
// Nothing imports test/; a workspace package (packages/*) stands alone and is started by the app only
// through src/temporal/embedded-server.ts.
import type { ImportEdge } from './imports.ts';

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly rule: string;
}

/** Delivery layers: they call the domain; the domain never calls them. */
const DELIVERY = ['src/api/', 'src/http/', 'src/console/', 'src/cli/', 'src/demo/'];
/** Composition roots: wire everything together (services, routes, activities, the worker). */
const COMPOSITION = ['src/app/', 'src/worker/', 'src/main.ts'];
/** Packages a workflow may use at run time (the SDK's workflow side; pure helpers). */
const WORKFLOW_PACKAGES = ['@temporalio/workflow', '@temporalio/common'];
/** Packages a module may use and still be pure (deterministic, no I/O): importable by workflows. */
const PURE_PACKAGES = ['@temporalio/common'];
/** The one src module that starts the embedded Temporal dev server. */
const EMBEDDED_START = 'src/temporal/embedded-server.ts';

const under = (file: string | null, prefixes: readonly string[]) =>
  file !== null && prefixes.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p));
const packageName = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');
const isCli = (file: string) => file.endsWith('-cli.ts');
/** A workflow's contract: its input/output types, message definitions and ids, for clients and activities. */
const isContract = (file: string | null) =>
  file?.startsWith('workflows/') === true && file.endsWith('-contract.ts');

/**
 * Files whose code is deterministic and does no I/O: every value import is a pure file of the project or
 * a pure package (type-only imports are erased). The largest such set (cycles of pure files are pure).
 */
export function pureFiles(edges: readonly ImportEdge[], files: readonly string[]): Set<string> {
  const byFile = new Map<string, ImportEdge[]>(files.map((f) => [f, []]));
  for (const e of edges) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
  const pure = new Set(byFile.keys());
  for (let changed = true; changed; ) {
    changed = false;
    for (const file of pure) {
      const ok = (byFile.get(file) ?? []).every(
        (e) =>
          e.typeOnly ||
          (e.target === null ? PURE_PACKAGES.includes(packageName(e.specifier)) : pure.has(e.target)),
      );
      if (!ok) {
        pure.delete(file);
        changed = true;
      }
    }
  }
  return pure;
}

/** Violations of the import rule among `edges`, the imports of the scanned `files`. */
export function layerViolations(edges: readonly ImportEdge[], files: readonly string[]): Violation[] {
  const pure = pureFiles(edges, files);
  const out: Violation[] = [];
  const flag = (e: ImportEdge, rule: string) =>
    out.push({ file: e.file, line: e.line, specifier: e.specifier, rule });

  for (const e of edges) {
    const { file, target } = e;
    if (under(target, ['test/']) || target === 'test') {
      flag(e, 'nothing imports test/');
      continue;
    }
    if (file.startsWith('packages/')) {
      const root = file.split('/').slice(0, 2).join('/');
      if (target !== null && !target.startsWith(`${root}/`))
        flag(e, `a workspace package stands alone: ${root} imports nothing outside it`);
      continue;
    }
    if (target?.startsWith('packages/'))
      flag(e, 'a workspace package is imported by its name, not by a path into packages/');
    if (packageName(e.specifier) === '@disburse/temporal-dev' && file !== EMBEDDED_START)
      flag(e, `only ${EMBEDDED_START} starts temporal-dev`);

    if (file.startsWith('workflows/')) {
      // A re-export is a second home for a name: importers would reach src/ through workflows/.
      if (e.reexport && target !== null && !target.startsWith('workflows/'))
        flag(e, 'workflows re-export nothing from outside workflows/: import a name from its home');
      if (e.typeOnly) continue;
      if (target === null) {
        if (!WORKFLOW_PACKAGES.includes(packageName(e.specifier)))
          flag(
            e,
            `workflows run deterministic code: no ${e.specifier} (only ${WORKFLOW_PACKAGES.join(', ')})`,
          );
      } else if (target.startsWith('activities/')) {
        flag(e, 'workflows call activities through proxyActivities; import their types only');
      } else if (!target.startsWith('workflows/') && !pure.has(target)) {
        flag(
          e,
          'workflows import from src/ only types and pure modules (no I/O, no packages but @temporalio/common)',
        );
      }
      continue;
    }

    if (file.startsWith('activities/')) {
      if (target?.startsWith('workflows/') && !e.typeOnly && !isContract(target) && !pure.has(target))
        flag(e, 'activities import from workflows/ only types, contracts and pure modules');
      continue;
    }

    if (!file.startsWith('src/')) continue;
    const composition = under(file, COMPOSITION);
    if (target?.startsWith('activities/') && !composition)
      flag(e, 'only the composition roots (src/app, src/worker) import activities/');
    if (target?.startsWith('workflows/') && !e.typeOnly && !isContract(target) && !composition)
      flag(e, "src imports from workflows/ only types and the workflows' contracts (*-contract.ts)");
    const domain = !composition && !under(file, DELIVERY);
    if (domain) {
      if (under(target, COMPOSITION)) flag(e, 'the domain does not import the composition roots');
      else if (under(target, ['src/cli/'])) {
        if (!isCli(file)) flag(e, 'only a CLI (*-cli.ts) imports src/cli');
      } else if (under(target, DELIVERY))
        flag(e, `the domain does not import the delivery layers (${DELIVERY.join(', ')})`);
    }
  }
  return out;
}

/** `file:line specifier — rule`, one per line. */
export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.file}:${v.line} ${v.specifier} — ${v.rule}`).join('\n');
}
