export * from '../src/observability/log-context.ts';
