import { z } from 'zod';
import { duration } from './payouts.ts';
import { defineConfigSection, intVar } from './section.ts';

export const observabilitySection = defineConfigSection(
  'observability',
  z.object({
    METRICS_TOKEN: z
      .string()
      .min(16)
      .optional()
      .describe(
        'a bearer token of at least 16 characters that GET /metrics then requires (default: /metrics is open; scrape it on a private network)',
      ),
    WORKER_METRICS_PORT: intVar(0, 65535, 0).describe(
      "TCP port of the worker process's own /metrics (npm run worker), 0 = off (default 0; npm start serves one registry on the API)",
    ),
    WORKER_METRICS_HOST: z
      .string()
      .min(1)
      .optional()
      .describe("interface the worker's /metrics listens on (default 127.0.0.1)"),
    TEMPORAL_METRICS_BIND: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')
      .optional()
      .describe(
        'host:port where the Temporal SDK runtime serves its own Prometheus metrics (temporal_*), e.g. 0.0.0.0:9464 (default off)',
      ),
    LEDGER_VERIFY_INTERVAL: duration(
      '0s',
      'how often the worker runs the ledger verification (npm run ledger:verify) and exposes its result as disburse_ledger_verify_*; 0s = never (it reads every ledger row)',
    ),
    OTEL_EXPORTER_OTLP_ENDPOINT: z
      .url()
      .optional()
      .describe(
        'OTLP/HTTP collector base URL, e.g. http://otel-collector:4318; set, traces are exported there (default: tracing off, at no cost)',
      ),
    OTEL_SERVICE_NAME: z
      .string()
      .min(1)
      .optional()
      .describe('service.name on exported spans (default disburse)'),
  }),
  (v) => ({
    metricsToken: v.METRICS_TOKEN,
    workerMetricsPort: v.WORKER_METRICS_PORT,
    workerMetricsHost: v.WORKER_METRICS_HOST ?? '127.0.0.1',
    temporalMetricsBind: v.TEMPORAL_METRICS_BIND,
    ledgerVerifyIntervalMs: v.LEDGER_VERIFY_INTERVAL,
    otlpEndpoint: v.OTEL_EXPORTER_OTLP_ENDPOINT,
    serviceName: v.OTEL_SERVICE_NAME ?? 'disburse',
  }),
);
