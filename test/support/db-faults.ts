// Database faults for tests: terminate the backends of one pool (found by its application_name, which
// createTestDatabase sets to the schema name), so a test only ever ends its own connections.
import { loadConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/open.ts';
import { sql } from '../../src/db/sql.ts';

export interface BackendKiller {
  /** pg_terminate_backend on every backend named `applicationName`; how many were terminated. */
  terminate(): Promise<number>;
  /** How many backends named `applicationName` the server has now. */
  live(): Promise<number>;
  close(): Promise<void>;
}

export async function backendKiller(applicationName: string): Promise<BackendKiller> {
  const { database } = loadConfig();
  if (!database.url) throw new Error('DATABASE_URL is unset: run tests through `npm test`');
  // Its own pool under another name, so it never terminates itself.
  const admin = await openDatabase({
    url: database.url,
    poolMax: 1,
    applicationName: `${applicationName}_killer`,
  });
  const backends = `FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`;
  return {
    async terminate() {
      const rows = await sql<{ ok: boolean }>(
        admin.em(),
        `SELECT pg_terminate_backend(pid) AS ok ${backends}`,
        [applicationName],
      );
      return rows.filter((r) => r.ok).length;
    },
    async live() {
      const [row] = await sql<{ n: number }>(admin.em(), `SELECT count(*)::int AS n ${backends}`, [
        applicationName,
      ]);
      return row?.n ?? 0;
    },
    close: () => admin.close(),
  };
}
