import { describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/postgresql';
import { Connection } from '@temporalio/client';
import { dinero, toSnapshot } from 'dinero.js';
import { USD } from 'dinero.js/currencies';

describe('toolchain', () => {
  it('loads ESM MikroORM, Temporal client and dinero', () => {
    expect(typeof MikroORM.init).toBe('function');
    expect(typeof Connection.connect).toBe('function');
    expect(toSnapshot(dinero({ amount: 100, currency: USD })).amount).toBe(100);
  });
});
