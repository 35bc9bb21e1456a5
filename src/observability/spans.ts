// Spans of the process's own work (HTTP requests, provider calls) on the global OpenTelemetry API: the
// no-op tracer unless startTracing ran, so these cost a function call when tracing is off.
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = () => trace.getTracer('disburse');

/** Runs `fn` in a span (a child of the active one); an exception marks it as an error. */
export async function inSpan<T>(
  name: string,
  attributes: Record<string, string | number>,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** An HTTP server span, continuing a caller's W3C traceparent when it sends one. */
export function inRequestSpan<T>(
  method: string,
  route: string,
  headers: Record<string, string | string[] | undefined>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = propagation.extract(context.active(), headers);
  return context.with(parent, () =>
    inSpan(`${method} ${route}`, { 'http.request.method': method, 'http.route': route }, fn, SpanKind.SERVER),
  );
}
