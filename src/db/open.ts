import { type EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { entities } from './entities.ts';
import { assertSchemaName } from './identifiers.ts';

export interface DatabaseOptions {
  url: string;
  /** PostgreSQL schema holding Disburse's tables (default 'public'). */
  schema?: string;
  poolMax?: number;
  /** Log SQL (MikroORM debug). */
  debug?: boolean;
}

export interface Database {
  readonly orm: MikroORM;
  readonly schema: string;
  readonly url: string;
  /** A fresh EntityManager (own identity map); use one per request / activity / unit of work. */
  em(): EntityManager;
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const schema = assertSchemaName(options.schema ?? 'public');
  const orm = await MikroORM.init({
    clientUrl: options.url,
    schema,
    entities,
    pool: { min: 0, max: options.poolMax ?? 10 },
    debug: options.debug ?? false,
    ensureDatabase: false,
    allowGlobalContext: false,
  });
  let closed = false;
  return {
    orm,
    schema,
    url: options.url,
    em: () => orm.em.fork(),
    async close() {
      if (closed) return;
      closed = true;
      await orm.close(true);
    },
  };
}
