// Where temporal-dev keeps what it can rebuild: Node's compile cache (set up by bin/temporal-dev) and the
// subset of Temporal's protobuf definitions (proto-subset.ts). Under node_modules so a reinstall, which may
// change the sources cached, starts it afresh, and owned by whoever installed the repository (a cache in
// a shared /tmp could be planted by another user). TEMPORAL_DEV_CACHE_DIR moves it.
import { fileURLToPath } from 'node:url';

export function cacheDir(): string {
  return (
    process.env.TEMPORAL_DEV_CACHE_DIR ||
    fileURLToPath(new URL('../../node_modules/.cache/temporal-dev', import.meta.url))
  );
}
