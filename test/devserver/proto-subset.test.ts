// The protobuf subset temporal-dev boots from (src/devserver/proto-subset.ts): complete, identical to the
// shipped definitions, rebuilt when its cache file is missing or damaged, with a fallback for other types.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { fullRoot, loadRoot, SERVICES } from '../../src/devserver/proto-subset.ts';

const dir = mkdtempSync(join(tmpdir(), 'temporal-dev-proto-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('temporal-dev protobuf subset', () => {
  const file = join(dir, 'subset.json');

  it('is written on first load and holds every type the services reach, as shipped', () => {
    const subset = loadRoot(file);
    expect(JSON.parse(readFileSync(file, 'utf8')).nested.temporal).toBeDefined();
    // resolveAll throws on a field or method whose type the subset lacks.
    expect(() => subset.resolveAll()).not.toThrow();
    const full = fullRoot();
    let methods = 0;
    for (const name of SERVICES) {
      for (const method of subset.lookupService(name).methodsArray) {
        const shipped = full.lookupService(name).methods[method.name]!;
        method.resolve();
        shipped.resolve();
        for (const side of ['resolvedRequestType', 'resolvedResponseType'] as const) {
          expect(method[side]?.toJSON()).toEqual(shipped[side]?.toJSON());
        }
        methods++;
      }
    }
    expect(methods).toBeGreaterThan(100);
    expect(
      subset.lookupEnum('temporal.api.enums.v1.EventType').values.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    ).toBe(1);
    // Reached from no service: left out, which is what makes the subset smaller.
    expect(subset.lookup('coresdk')).toBeNull();
  });

  it('is read back from its file, and rebuilt when the file is damaged', () => {
    const written = readFileSync(file, 'utf8');
    expect(() => loadRoot(file).lookupType('temporal.api.update.v1.Request')).not.toThrow();
    writeFileSync(file, written.slice(0, 1000));
    const root = loadRoot(file);
    expect(root.lookupService(SERVICES[0]!).methods.StartWorkflowExecution).toBeDefined();
    expect(readFileSync(file, 'utf8')).toBe(written);
  });

  it('serves a type outside the subset from the shipped definitions', async () => {
    process.env.TEMPORAL_DEV_CACHE_DIR = dir;
    const { decode, encode, messageType } = await import('../../src/devserver/proto.ts');
    const type = messageType('coresdk.ActivityHeartbeat');
    expect(type.fullName).toBe('.coresdk.ActivityHeartbeat');
    const buf = encode(type, { taskToken: Buffer.from('t') });
    expect(decode(type, buf).taskToken).toEqual(Buffer.from('t'));
  });
});
