// Where temporal-dev keeps what it can rebuild: Node's compile cache (set up by bin/temporal-dev) and the
// subset of Temporal's protobuf definitions (proto-subset.ts). Under node_modules so a reinstall, which may
// change the sources cached, starts it afresh, and owned by whoever installed the repository (a cache in
// a shared /tmp could be planted by another user). TEMPORAL_DEV_CACHE_DIR moves it (the launcher sets it).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function cacheDir(): string {
  if (process.env.TEMPORAL_DEV_CACHE_DIR) return process.env.TEMPORAL_DEV_CACHE_DIR;
  // As the launcher: the nearest node_modules above the package (a workspace's is the root's).
  const pkg = fileURLToPath(new URL('..', import.meta.url));
  for (let dir = pkg; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules', '.bin', 'node')))
      return join(dir, 'node_modules/.cache/temporal-dev');
    if (dirname(dir) === dir) return join(pkg, 'node_modules/.cache/temporal-dev');
  }
}
