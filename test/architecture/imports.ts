// Every import of the project's TypeScript files, parsed with SWC (the compiler the tests already run on),
// so `import type`, `import { type X }`, `export … from`, `import()` and `import x = require()` are told apart
// exactly, with the line each one is on.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseSync } from '@swc/core';

export interface ImportEdge {
  /** Importing file, relative to the repository root with forward slashes. */
  readonly file: string;
  readonly line: number;
  /** As written in the source. */
  readonly specifier: string;
  /** The imported file relative to the root for a relative specifier; null for a package or node: module. */
  readonly target: string | null;
  /** Erased at compile time (`import type`, or every specifier `type`): no code runs. */
  readonly typeOnly: boolean;
  /** `export … from`: the file hands the target's names on as its own. */
  readonly reexport: boolean;
}

/** Every .ts file under those of the directories (relative to root) that exist, skipping node_modules. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(rel);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  for (const d of dirs) if (existsSync(path.join(root, d))) walk(d);
  return out.sort();
}

interface Node {
  type?: string;
  span?: { start: number };
  [key: string]: unknown;
}

/** The imports of one file's text. */
export function parseImports(file: string, source: string): ImportEdge[] {
  // SWC spans are byte positions from an arbitrary base: a leading `0;` gives the base (its span start).
  // A shebang keeps its length but becomes a comment.
  const text = `0;${source.replace(/^#!/, '//')}`;
  const bytes = Buffer.from(text);
  const module = parseSync(text, { syntax: 'typescript', target: 'es2022' }) as unknown as { body: Node[] };
  const base = module.body[0]!.span!.start;
  const lineOf = (node: Node) => {
    const end = node.span!.start - base;
    let line = 1;
    for (let i = 0; i < end; i++) if (bytes[i] === 0x0a) line++;
    return line;
  };
  const edges: ImportEdge[] = [];
  const add = (node: Node, specifier: string, typeOnly: boolean) =>
    edges.push({
      file,
      line: lineOf(node),
      specifier,
      target: resolve(file, specifier),
      typeOnly,
      reexport: node.type === 'ExportAllDeclaration' || node.type === 'ExportNamedDeclaration',
    });
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const n = node as Node;
    switch (n.type) {
      case 'ImportDeclaration':
      case 'ExportAllDeclaration':
      case 'ExportNamedDeclaration': {
        const source = n.source as { value: string } | undefined;
        if (source) {
          const specifiers = (n.specifiers as { isTypeOnly?: boolean }[] | undefined) ?? [];
          const typeOnly =
            n.typeOnly === true || (specifiers.length > 0 && specifiers.every((s) => s.isTypeOnly === true));
          add(n, source.value, typeOnly);
          return;
        }
        break;
      }
      case 'TsImportEqualsDeclaration': {
        const ref = n.moduleRef as { type: string; expression?: { value: string } };
        if (ref.type === 'TsExternalModuleReference' && ref.expression) {
          add(n, ref.expression.value, n.isTypeOnly === true);
          return;
        }
        break;
      }
      case 'CallExpression': {
        const callee = n.callee as Node;
        const [first] = (n.arguments as { expression: Node }[]) ?? [];
        if (callee?.type === 'Import' && first?.expression.type === 'StringLiteral')
          add(n, first.expression.value as string, false);
        break;
      }
    }
    for (const [key, value] of Object.entries(n))
      if (key !== 'span' && typeof value === 'object') visit(value);
  };
  visit(module.body);
  return edges;
}

function resolve(file: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  return path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
}

/** The imports of every .ts file under the directories. */
export function scanImports(root: string, dirs: readonly string[]): ImportEdge[] {
  return sourceFiles(root, dirs).flatMap((file) =>
    parseImports(file, readFileSync(path.join(root, file), 'utf8')),
  );
}

/** What the import rule covers: the application, its workflows and activities, the workspace packages. */
export const SCANNED_DIRS = ['src', 'workflows', 'activities', 'packages'] as const;
