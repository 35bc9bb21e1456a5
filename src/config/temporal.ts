import { z } from 'zod';
import { defineConfigSection } from './section.ts';

export const temporalSection = defineConfigSection(
  'temporal',
  z.object({
    TEMPORAL_ADDRESS: z
      .string()
      .regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port')
      .optional()
      .describe('host:port of a Temporal frontend, e.g. temporal:7233; unset = embedded bin/temporal-dev'),
    TEMPORAL_NAMESPACE: z
      .string()
      .regex(/^[\w.-]{1,255}$/, 'must be a Temporal namespace name')
      .optional()
      .describe('a namespace name (default default)'),
    TEMPORAL_TASK_QUEUE: z
      .string()
      .regex(/^[\w.-]{1,255}$/, 'must be a task queue name')
      .optional()
      .describe('a task queue name (default disburse)'),
    TEMPORAL_GRPC_COMPRESSION: z
      .enum(['gzip', 'none'])
      .optional()
      .describe(
        "gzip or none: compression of the worker's requests to Temporal (default gzip with TEMPORAL_ADDRESS, none for the embedded server; none saves CPU on both ends when Temporal is on the same host or a fast network)",
      ),
    TEMPORAL_DEV_DB: z
      .string()
      .min(1)
      .optional()
      .describe(
        "file where the embedded temporal-dev keeps its state (default .data/temporal-dev.db; 'memory' = none)",
      ),
  }),
  (v) => ({
    /** Unset: `npm start` runs the embedded bin/temporal-dev. */
    address: v.TEMPORAL_ADDRESS,
    namespace: v.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: v.TEMPORAL_TASK_QUEUE ?? 'disburse',
    grpcCompression: v.TEMPORAL_GRPC_COMPRESSION ?? (v.TEMPORAL_ADDRESS ? 'gzip' : 'none'),
    embeddedDbFile:
      v.TEMPORAL_DEV_DB === 'memory' ? undefined : (v.TEMPORAL_DEV_DB ?? '.data/temporal-dev.db'),
  }),
);

export type TemporalConfig =
  ReturnType<typeof temporalSection.parse> extends infer R
    ? R extends { ok: true; value: infer T }
      ? T
      : never
    : never;
