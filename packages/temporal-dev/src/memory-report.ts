// TEMPORAL_DEV_MEMORY_REPORT=FILE: on SIGUSR2 the server collects garbage and writes what it holds to
// FILE as JSON — V8 heap and external memory after a full GC, plus the SQLite database's pages — so
// that `npm run bench:engine` can report memory per open workflow without counting garbage.
import { renameSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface MemoryReport {
  at: number;
  heapUsed: number;
  external: number;
  sqliteBytes: number;
  rss: number;
}

export function installMemoryReport(file: string, sqliteBytes: () => number): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  process.on('SIGUSR2', () => {
    gc();
    gc();
    const m = process.memoryUsage();
    const report: MemoryReport = {
      at: Date.now(),
      heapUsed: m.heapUsed,
      external: m.external,
      sqliteBytes: sqliteBytes(),
      rss: m.rss,
    };
    writeFileSync(`${file}.tmp`, JSON.stringify(report));
    renameSync(`${file}.tmp`, file);
  });
}
