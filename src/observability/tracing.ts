// OpenTelemetry traces, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set (or a test passes its own span
// processor): an HTTP request's span → the workflow start (client interceptor, context in the workflow
// header) → the workflow's spans (exported from the sandbox through a sink) → activity spans → provider
// call spans. Off, nothing is registered: the API's tracer is the no-op one and the bundle has no
// tracing interceptors.
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';

const require = createRequire(import.meta.url);
const workflowInterceptors = require.resolve(
  '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
);

export interface Tracing {
  /** Workflow interceptor modules the bundle must include (bundleWorkflowCode / Worker.create). */
  readonly workflowModules: string[];
  /** Client interceptors: the workflow start carries the caller's span context. */
  clientInterceptors(): { workflow: OpenTelemetryWorkflowClientInterceptor[] };
  /** Worker options: activity interceptors and the sink exporting workflow spans. */
  workerOptions(): Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/** The tracing this process started, if any. */
export function currentTracing(): Tracing | undefined {
  return active;
}

/**
 * Starts the OpenTelemetry SDK once per process. `spanProcessor` (tests: an in-memory exporter) replaces
 * the OTLP exporter; without it and without OTEL_EXPORTER_OTLP_ENDPOINT nothing starts.
 */
export function startTracing(o: {
  endpoint?: string | undefined;
  serviceName: string;
  spanProcessor?: SpanProcessor;
}): Tracing | undefined {
  if (active) return active;
  if (!o.endpoint && !o.spanProcessor) return undefined;
  // The OTLP exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS) itself, as the spec says.
  const processor = o.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter());
  const resource = new Resource({ 'service.name': o.serviceName });
  const sdk = new NodeSDK({ resource, spanProcessors: [processor], instrumentations: [] });
  sdk.start();
  active = {
    workflowModules: [workflowInterceptors],
    clientInterceptors: () => ({ workflow: [new OpenTelemetryWorkflowClientInterceptor()] }),
    workerOptions: () => ({
      interceptors: {
        workflowModules: [workflowInterceptors],
        activity: [
          (ctx) => ({
            inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
            outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
          }),
        ],
      },
      sinks: { exporter: makeWorkflowExporter(processor, resource) },
    }),
    shutdown: async () => {
      active = undefined;
      await sdk.shutdown();
    },
  };
  return active;
}
