import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config/index.ts';

describe('configuration', () => {
  it('parses the database section with defaults; empty strings count as unset', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u@h:5432/db', DATABASE_POOL_MAX: '' });
    expect(config.database).toEqual({
      url: 'postgres://u@h:5432/db',
      schema: 'public',
      poolMax: 10,
      acquireTimeoutMs: 5000,
      idleTimeoutMs: 10_000,
      applicationName: 'disburse',
      embeddedDataDir: '.data/pglite',
      preparedStatements: true,
    });
    expect(loadConfig({}).database.url).toBeUndefined();
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'false' }).database.preparedStatements).toBe(false);
    expect(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'no' })).toThrow(/DATABASE_PREPARED_STATEMENTS/);
  });

  it('names every bad variable and the expected form in one error', () => {
    const err = (() => {
      try {
        loadConfig({ DATABASE_URL: 'mysql://x', DATABASE_POOL_MAX: 'lots', DATABASE_SCHEMA: 'Bad-Name' });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe('config_invalid');
    expect(err.message).toMatch(/DATABASE_URL: .*postgres:\/\//);
    expect(err.message).toMatch(/DATABASE_POOL_MAX: .*integer 1-200/);
    expect(err.message).toMatch(/DATABASE_SCHEMA: .*lower-case/);
  });

  it('keeps Idempotency-Key answers 7 days unless told otherwise, never under an hour', () => {
    expect(loadConfig({}).api.idempotencyRetentionMs).toBe(7 * 86_400_000);
    expect(loadConfig({ IDEMPOTENCY_KEY_RETENTION: '36h' }).api.idempotencyRetentionMs).toBe(36 * 3_600_000);
    expect(() => loadConfig({ IDEMPOTENCY_KEY_RETENTION: '10m' })).toThrow(
      /IDEMPOTENCY_KEY_RETENTION: .*at least 1h/,
    );
    expect(() => loadConfig({ IDEMPOTENCY_KEY_RETENTION: 'a week' })).toThrow(
      /IDEMPOTENCY_KEY_RETENTION: .*duration/,
    );
  });

  it("compresses the worker's requests to a Temporal address, not to the embedded server", () => {
    expect(loadConfig({}).temporal.grpcCompression).toBe('none');
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).temporal.grpcCompression).toBe('gzip');
    const local = { TEMPORAL_ADDRESS: 'localhost:7233', TEMPORAL_GRPC_COMPRESSION: 'none' };
    expect(loadConfig(local).temporal.grpcCompression).toBe('none');
    expect(() => loadConfig({ TEMPORAL_GRPC_COMPRESSION: 'zstd' })).toThrow(/TEMPORAL_GRPC_COMPRESSION/);
  });
});
