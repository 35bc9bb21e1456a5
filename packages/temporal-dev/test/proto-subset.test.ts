// The protobuf subset temporal-dev boots from (src/proto-subset.ts): the RPCs it lists are the
// ones with handlers, their types are complete and as shipped, the file is rebuilt when missing or
// damaged, and other types come from the full definitions; the README lists exactly the others.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Clock } from '../src/clock.ts';
import { Engine } from '../src/engine.ts';
import { operatorServiceHandlers } from '../src/operator-service.ts';
import { fullRoot, loadRoot, SERVED } from '../src/proto-subset.ts';
import { testServiceHandlers } from '../src/test-service.ts';
import { Visibility } from '../src/visibility.ts';
import { workflowServiceHandlers } from '../src/workflow-service.ts';

const dir = mkdtempSync(join(tmpdir(), 'temporal-dev-proto-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('temporal-dev protobuf subset', () => {
  const file = join(dir, 'subset.json');

  it('lists exactly the RPCs that have handlers', () => {
    const noop = () => {};
    const clock = new Clock({ skipping: true });
    const engine = new Engine(clock, { debug: noop, info: noop, warn: noop, error: noop });
    try {
      const handled = {
        'temporal.api.workflowservice.v1.WorkflowService': workflowServiceHandlers(
          engine,
          new Visibility(engine),
          {
            version: 'test',
          },
        ),
        'temporal.api.operatorservice.v1.OperatorService': operatorServiceHandlers(engine),
        'temporal.api.testservice.v1.TestService': testServiceHandlers(clock),
      };
      for (const [service, handlers] of Object.entries(handled)) {
        expect([...SERVED[service]!].sort()).toEqual(Object.keys(handlers).sort());
      }
      expect(Object.keys(SERVED).sort()).toEqual(Object.keys(handled).sort());
    } finally {
      clock.stop();
    }
  });

  it('has the README name exactly the RPCs that answer UNIMPLEMENTED', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Not implemented'), readme.indexOf('Also not done:'));
    const listed = new Set<string>();
    for (const row of section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| area'))) {
      const rpcs = row.split(' | ')[1] ?? '';
      for (const m of rpcs.matchAll(/`([A-Z][A-Za-z]+)`/g)) listed.add(m[1]!);
    }
    const root = fullRoot();
    const unserved: string[] = [];
    for (const service of [
      'temporal.api.workflowservice.v1.WorkflowService',
      'temporal.api.operatorservice.v1.OperatorService',
    ]) {
      const served = new Set(SERVED[service]);
      for (const m of Object.keys(root.lookupService(service).methods)) if (!served.has(m)) unserved.push(m);
    }
    expect([...listed].sort()).toEqual(unserved.sort());
  });

  it('is written on first load and holds the served RPCs, every method name and the enums, as shipped', () => {
    const subset = loadRoot(file);
    expect(JSON.parse(readFileSync(file, 'utf8')).nested.temporal).toBeDefined();
    const full = fullRoot();
    for (const [service, served] of Object.entries(SERVED)) {
      const shipped = full.lookupService(service);
      const mine = subset.lookupService(service);
      // Every RPC keeps its name, so an unserved one answers UNIMPLEMENTED naming it.
      expect(Object.keys(mine.methods)).toEqual(Object.keys(shipped.methods));
      for (const name of served) {
        // resolve() throws when the subset lacks a type; nested types are compared through toJSON.
        const [m, s] = [mine.methods[name]!, shipped.methods[name]!];
        m.resolve();
        s.resolve();
        expect(m.resolvedRequestType!.toJSON()).toEqual(s.resolvedRequestType!.toJSON());
        expect(m.resolvedResponseType!.toJSON()).toEqual(s.resolvedResponseType!.toJSON());
        for (const type of [m.resolvedRequestType!, m.resolvedResponseType!])
          expect(() => type.resolveAll()).not.toThrow();
      }
    }
    expect(
      subset.lookupEnum('temporal.api.enums.v1.EventType').values.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    ).toBe(1);
    // Reached from no served RPC: left out, which is what makes the subset smaller.
    expect(subset.lookup('coresdk')).toBeNull();
    expect(subset.lookup('temporal.api.workflowservice.v1.ListWorkerDeploymentsRequest')).toBeNull();
  });

  it('is read back from its file, and rebuilt when the file is damaged', () => {
    const written = readFileSync(file, 'utf8');
    expect(() => loadRoot(file).lookupType('temporal.api.update.v1.Request')).not.toThrow();
    writeFileSync(file, written.slice(0, 1000));
    const root = loadRoot(file);
    expect(
      root.lookupService('temporal.api.workflowservice.v1.WorkflowService').methods.StartWorkflowExecution,
    ).toBeDefined();
    expect(readFileSync(file, 'utf8')).toBe(written);
  });

  it('serves types outside the subset from the shipped definitions', async () => {
    process.env.TEMPORAL_DEV_CACHE_DIR = dir;
    const { decode, encode, messageType, methodTypes } = await import('../src/proto.ts');
    const type = messageType('coresdk.ActivityHeartbeat');
    expect(type.fullName).toBe('.coresdk.ActivityHeartbeat');
    expect(decode(type, encode(type, { taskToken: Buffer.from('t') })).taskToken).toEqual(Buffer.from('t'));
    // An RPC left out of the subset (no handler today) still gets its real types if asked.
    const [req] = methodTypes('temporal.api.workflowservice.v1.WorkflowService', 'ListSchedules');
    expect(req.fullName).toBe('.temporal.api.workflowservice.v1.ListSchedulesRequest');
  });
});
