// Prints every violation of the import rule as file:line, allowlisted ones marked, and a count:
//   npx node test/architecture/report.ts
import path from 'node:path';
import { ALLOWLIST, allowKey } from './allowlist.ts';
import { SCANNED_DIRS, scanImports, sourceFiles } from './imports.ts';
import { layerViolations } from './layers.ts';

if (process.argv.includes('--help')) {
  console.log(
    "usage: npx node test/architecture/report.ts [--root DIR]\nPrints the import rule's violations (file:line specifier — rule).",
  );
  process.exit(0);
}
const at = process.argv.indexOf('--root');
const root = at > 0 ? path.resolve(process.argv[at + 1]!) : path.resolve(import.meta.dirname, '../..');
const files = sourceFiles(root, SCANNED_DIRS);
const violations = layerViolations(scanImports(root, SCANNED_DIRS), files);
for (const v of violations)
  console.log(
    `${v.file}:${v.line} ${v.specifier} — ${v.rule}${ALLOWLIST.has(allowKey(v)) ? ' [allowlisted]' : ''}`,
  );
const allowed = violations.filter((v) => ALLOWLIST.has(allowKey(v))).length;
console.log(`${violations.length} violation(s) in ${files.length} files (${allowed} allowlisted)`);
process.exitCode = violations.length > allowed ? 1 : 0;
