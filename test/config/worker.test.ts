// WORKER_* (src/config/worker.ts): parsed and range-checked with the other settings; the defaults stay in
// src/worker/tuning.ts, which merges the overrides over them.
import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { WORKER_TUNING_VARIABLES, workerSection } from '../../src/config/worker.ts';
import { defaultWorkerTuning, workerTuning } from '../../src/worker/tuning.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error('loadConfig accepted it');
}

describe('worker tuning configuration', () => {
  it('leaves every default alone when nothing is set (empty counts as unset)', () => {
    expect(loadConfig({}).worker.tuning).toEqual({});
    expect(workerTuning({})).toEqual(defaultWorkerTuning);
    expect(workerTuning({ WORKER_ACTIVITY_SLOTS: '', WORKER_NON_STICKY_POLL_RATIO: '' })).toEqual(
      defaultWorkerTuning,
    );
  });

  it('sets the SDK option of each variable, over the default', () => {
    const env = {
      WORKER_ACTIVITY_SLOTS: '250',
      WORKER_LOCAL_ACTIVITY_SLOTS: '20',
      WORKER_WORKFLOW_SLOTS: '2',
      WORKER_WORKFLOW_POLLERS: '4',
      WORKER_ACTIVITY_POLLERS: '1',
      WORKER_NON_STICKY_POLL_RATIO: '0.5',
      WORKER_MAX_CACHED_WORKFLOWS: '0',
      WORKER_WORKFLOW_THREADS: '2',
    };
    const expected = {
      maxConcurrentActivityTaskExecutions: 250,
      maxConcurrentLocalActivityExecutions: 20,
      maxConcurrentWorkflowTaskExecutions: 2,
      maxConcurrentWorkflowTaskPolls: 4,
      maxConcurrentActivityTaskPolls: 1,
      nonStickyToStickyPollRatio: 0.5,
      maxCachedWorkflows: 0,
      workflowThreadPoolSize: 2,
    };
    expect(loadConfig(env).worker.tuning).toEqual(expected);
    expect(workerTuning(env)).toEqual({ ...defaultWorkerTuning, ...expected });
    expect(workerTuning({ WORKER_NON_STICKY_POLL_RATIO: '1' }).nonStickyToStickyPollRatio).toBe(1);
    expect(workerTuning({ WORKER_NON_STICKY_POLL_RATIO: '.25' }).nonStickyToStickyPollRatio).toBe(0.25);
  });

  it.each([
    ['WORKER_ACTIVITY_SLOTS', 'lots', /whole number.*integer 1-10000/],
    ['WORKER_ACTIVITY_SLOTS', '0', /integer 1-10000/],
    ['WORKER_ACTIVITY_SLOTS', '1.5', /whole number/],
    ['WORKER_LOCAL_ACTIVITY_SLOTS', '-3', /whole number.*integer 1-10000/],
    ['WORKER_WORKFLOW_SLOTS', '1', /integer 2-10000/],
    ['WORKER_WORKFLOW_POLLERS', '1', /integer 2-1000/],
    ['WORKER_ACTIVITY_POLLERS', '1001', /integer 1-1000/],
    ['WORKER_NON_STICKY_POLL_RATIO', '0', /more than 0/],
    ['WORKER_NON_STICKY_POLL_RATIO', '1.2', /decimal number from 0 to 1/],
    ['WORKER_NON_STICKY_POLL_RATIO', '20%', /decimal number/],
    ['WORKER_MAX_CACHED_WORKFLOWS', '1', /0 \(no cache\) or at least 2/],
    ['WORKER_WORKFLOW_THREADS', '65', /integer 1-64/],
  ])('refuses %s=%s, naming it and the accepted range', (variable, value, message) => {
    const problems = problemsOf({ [variable]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${variable}: `));
    expect(problems[0]).toMatch(message);
    // The worker's own reading of the environment (createDisburseWorker, the bench) refuses it alike.
    expect(() => workerTuning({ [variable]: value })).toThrow(ConfigError);
  });

  it('lists every bad variable in one error', () => {
    const problems = problemsOf({ WORKER_ACTIVITY_SLOTS: 'x', WORKER_WORKFLOW_THREADS: '0' });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'WORKER_ACTIVITY_SLOTS',
      'WORKER_WORKFLOW_THREADS',
    ]);
  });

  it("documents the default each variable falls back to (src/worker/tuning.ts's, else the SDK's)", () => {
    // deploy/env.example is generated from these: a default changed in tuning.ts must be changed here too.
    for (const [variable, option] of Object.entries(WORKER_TUNING_VARIABLES)) {
      const description = workerSection.variables.shape[variable]?.description ?? '';
      const ours = defaultWorkerTuning[option];
      expect([variable, description]).toEqual([
        variable,
        expect.stringMatching(ours === undefined ? /\(default the SDK's/ : new RegExp(`\\(default ${ours},`)),
      ]);
    }
  });
});
