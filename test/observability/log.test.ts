// The JSON logger: secrets by key name, SDK payloads by path, byte arrays by length; the SDK's logger
// writes through it (its multi-line bundle stats as one debug line).
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../../src/observability/log.ts';
import { sdkLogger } from '../../src/observability/sdk-logger.ts';

function capture(level: 'debug' | 'info' = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level, write: (l) => lines.push(JSON.parse(l)) });
  return { log, lines };
}

describe('JSON logger', () => {
  it('redacts secrets by key and SDK payloads by path, keeps the rest', () => {
    const { log, lines } = capture();
    log.debug('Got workflow activation', {
      runId: 'r1',
      jobs: [
        { initializeWorkflow: { arguments: [{ data: new Uint8Array([1, 2]) }], workflowId: 'payout-po_x' } },
      ],
      start: { headerFields: { a: 1 }, activityType: 'submitToProvider' },
      apiKey: 'dk_live_secret',
      chunk: new Uint8Array(7),
    });
    expect(lines[0]).toMatchObject({
      level: 'debug',
      msg: 'Got workflow activation',
      runId: 'r1',
      jobs: [{ initializeWorkflow: { arguments: '[redacted]', workflowId: 'payout-po_x' } }],
      start: { headerFields: '[redacted]', activityType: 'submitToProvider' },
      apiKey: '[redacted]',
      chunk: '[7 bytes]',
    });
  });

  it('takes the SDK logger: levels mapped, bundle stats one debug line, below the level nothing', () => {
    const { log, lines } = capture('info');
    const sdk = sdkLogger(log);
    sdk.info('asset workflow-bundle.js 1.8 MiB\nruntime modules 883 bytes', { sdkComponent: 'worker' });
    sdk.warn('Activity failed', { sdkComponent: 'activity', activityType: 'submitToProvider' });
    sdk.trace('noise');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'Activity failed', sdkComponent: 'activity' }),
    ]);
    const debug = capture('debug');
    sdkLogger(debug.log).info('a\nb', {});
    expect(debug.lines).toEqual([
      expect.objectContaining({ level: 'debug', msg: 'temporal.bundle.stats', output: 'a\nb' }),
    ]);
  });
});
