// One trace from the HTTP request through the workflow start, the payout workflow, its activities and the
// provider call, seen by an in-memory exporter in place of OTLP.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '../../src/observability/tracing.ts';
import { type Stack, startStack } from '../support/stack.ts';

describe('traces', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let stack: Stack;
  let spans: ReadableSpan[];

  beforeAll(async () => {
    tracing = startTracing({
      serviceName: 'disburse-test',
      spanProcessor: new SimpleSpanProcessor(exporter),
    })!;
    stack = await startStack('traces', { tracing });
    const payee = await stack.createPayee({ credit: '50000' });
    const payoutId = await stack.requestPayout(payee, '900');
    expect((await stack.result(payoutId)).state).toBe('paid');
    // Workflow spans leave the sandbox through a sink after their activation: wait until the run's is in.
    const ended = () => exporter.getFinishedSpans().some((s) => s.name.startsWith('RunWorkflow:'));
    while (!ended()) await new Promise((r) => setTimeout(r, 25));
    spans = exporter.getFinishedSpans();
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await tracing?.shutdown();
  });

  it('carries the request span through workflow start, workflow, activities and the provider call', () => {
    const request = spans.find((s) => s.name === 'POST /v1/payouts');
    expect(request).toBeDefined();
    const trace = spans.filter((s) => s.spanContext().traceId === request!.spanContext().traceId);
    const names = new Set(trace.map((s) => s.name));
    expect([...names].filter((n) => n.startsWith('StartWorkflow:'))).toHaveLength(1);
    expect([...names].filter((n) => n.startsWith('RunWorkflow:'))).toHaveLength(1);
    expect(names.has('RunActivity:submitToProvider')).toBe(true);
    expect(names.has('provider.submit')).toBe(true);
    // The provider span is the child of the activity's span.
    const submit = trace.find((s) => s.name === 'provider.submit')!;
    const activity = trace.find((s) => s.name === 'RunActivity:submitToProvider')!;
    expect(submit.parentSpanId).toBe(activity.spanContext().spanId);
    expect(submit.attributes['disburse.provider']).toBe('sandbox');
  });
});
