import { describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/postgresql';
import { Connection } from '@temporalio/client';

describe('toolchain', () => {
  it('loads ESM MikroORM, Temporal client', () => {
    expect(typeof MikroORM.init).toBe('function');
    expect(typeof Connection.connect).toBe('function');
  });
});
