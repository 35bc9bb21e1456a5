import { z } from 'zod';
import { defineConfigSection } from './section.ts';

const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a port number')
  .transform(Number)
  .refine((n) => n <= 65535, 'must be a port number (0-65535)');

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
    TEMPORAL_DEV_PORT: port
      .optional()
      .describe(
        'gRPC port of the embedded temporal-dev (default 7233, as the official dev server, so Temporal UI can be pointed at it; 0 = any free port)',
      ),
    TEMPORAL_DEV_HTTP_PORT: z
      .union([z.literal('off'), port])
      .optional()
      .describe(
        "port of the embedded temporal-dev's Temporal HTTP API (default 7243; 0 = any free port; off = none)",
      ),
    TEMPORAL_DEV_IP: z
      .string()
      .regex(/^[\d.]+$|^[\da-fA-F:]+$/, 'must be an IP address')
      .optional()
      .describe(
        'address the embedded temporal-dev binds (default 127.0.0.1; 0.0.0.0 lets a Temporal UI container on Linux reach it)',
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
    /** Ports of the embedded server: a default that is taken falls back to a free port, a set one fails. */
    embeddedPorts: {
      ip: v.TEMPORAL_DEV_IP ?? '127.0.0.1',
      grpc: {
        port: v.TEMPORAL_DEV_PORT ?? 7233,
        variable: 'TEMPORAL_DEV_PORT',
        explicit: v.TEMPORAL_DEV_PORT !== undefined,
      },
      http:
        v.TEMPORAL_DEV_HTTP_PORT === 'off'
          ? undefined
          : {
              port: v.TEMPORAL_DEV_HTTP_PORT ?? 7243,
              variable: 'TEMPORAL_DEV_HTTP_PORT',
              explicit: v.TEMPORAL_DEV_HTTP_PORT !== undefined,
            },
    },
  }),
);

export type TemporalConfig =
  ReturnType<typeof temporalSection.parse> extends infer R
    ? R extends { ok: true; value: infer T }
      ? T
      : never
    : never;
