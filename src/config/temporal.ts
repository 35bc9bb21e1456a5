import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import { z } from 'zod';
import { defineConfigSection } from './section.ts';

const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a port number')
  .transform(Number)
  .refine((n) => n <= 65535, 'must be a port number (0-65535)');

const bool = z.enum(['true', 'false', '1', '0']);

/**
 * The connection variables of the official SDKs and CLI (read by @temporalio/envconfig, which also reads
 * the profile file), so a Temporal Cloud or secured-cluster setup written for `temporal` works unchanged.
 */
const connectionVariables = {
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port')
    .optional()
    .describe(
      'host:port of a Temporal frontend, e.g. temporal:7233 or NS.ACCT.tmprl.cloud:7233; unset (and no profile address) = embedded bin/temporal-dev',
    ),
  TEMPORAL_NAMESPACE: z
    .string()
    .regex(/^[\w.-]{1,255}$/, 'must be a Temporal namespace name')
    .optional()
    .describe("a namespace name (default: the profile's, else default)"),
  TEMPORAL_PROFILE: z
    .string()
    .min(1)
    .optional()
    .describe('profile of the Temporal config file to use (default default; a named one must exist)'),
  TEMPORAL_CONFIG_FILE: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Temporal config file (TOML) with [profile.NAME] tables (default ~/.config/temporalio/temporal.toml if present)',
    ),
  TEMPORAL_API_KEY: z
    .string()
    .min(1)
    .optional()
    .describe('API key sent as a bearer token (Temporal Cloud); implies TLS'),
  TEMPORAL_TLS: bool
    .optional()
    .describe('true or false: TLS on or off (default on when any TLS setting or an API key is given)'),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z
    .string()
    .min(1)
    .optional()
    .describe('file of the mTLS client certificate (PEM)'),
  TEMPORAL_TLS_CLIENT_CERT_DATA: z
    .string()
    .min(1)
    .optional()
    .describe('the mTLS client certificate itself (PEM)'),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z
    .string()
    .min(1)
    .optional()
    .describe('file of the mTLS client private key (PEM)'),
  TEMPORAL_TLS_CLIENT_KEY_DATA: z
    .string()
    .min(1)
    .optional()
    .describe('the mTLS client private key itself (PEM)'),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z
    .string()
    .min(1)
    .optional()
    .describe(
      "file of the CA certificate(s) that signed the server's certificate (PEM; default: system roots)",
    ),
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: z
    .string()
    .min(1)
    .optional()
    .describe('the server CA certificate(s) themselves (PEM)'),
  TEMPORAL_TLS_SERVER_NAME: z
    .string()
    .min(1)
    .optional()
    .describe("name expected in the server's certificate (default: the host of TEMPORAL_ADDRESS)"),
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: bool
    .optional()
    .describe(
      'only false is accepted: the TypeScript SDK always verifies the server (use TEMPORAL_TLS_SERVER_NAME)',
    ),
};

type ConnectionVars = { [K in keyof typeof connectionVariables]?: string | undefined };

/** What client and worker connect with: the profile (file) overlaid by the variables, as the SDK does. */
export interface TemporalConnection {
  address?: string | undefined;
  namespace?: string | undefined;
  apiKey?: string | undefined;
  tls?: TLSConfig | boolean | undefined;
  metadata?: Record<string, string> | undefined;
}

function loadConnection(v: ConnectionVars): TemporalConnection {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(v)) if (value !== undefined) env[name] = value;
  // The default profile file lives in the user's config dir, found from these two as the CLI does.
  env.HOME = homedir();
  if (process.env.XDG_CONFIG_HOME) env.XDG_CONFIG_HOME = process.env.XDG_CONFIG_HOME;
  let profile: ReturnType<typeof loadClientConfigProfile>;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: env });
  } catch (error) {
    // The SDK trips over a file without any [profile.*] table (TypeError): that is a file with no
    // profile, so the variables alone apply, unless a named profile was asked for.
    if (!(error instanceof TypeError)) throw error;
    if (v.TEMPORAL_PROFILE) throw new Error(`Profile '${v.TEMPORAL_PROFILE}' not found in config data`);
    profile = loadClientConfigProfile({ overrideEnvVars: env, disableFile: true });
  }
  const { connectionOptions, namespace } = toClientOptions(profile);
  return {
    address: connectionOptions.address,
    namespace,
    apiKey: typeof connectionOptions.apiKey === 'string' ? connectionOptions.apiKey : undefined,
    tls: connectionOptions.tls ?? undefined,
    // TEMPORAL_GRPC_META_* and [profile.grpc_meta] values are strings.
    metadata: connectionOptions.metadata as Record<string, string> | undefined,
  };
}

/** Why these settings cannot connect, or undefined; attached to the variable an operator has to fix. */
function connectionProblem(v: ConnectionVars): { variable: string; message: string } | undefined {
  if (
    v.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === 'true' ||
    v.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === '1'
  ) {
    return {
      variable: 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
      message:
        "is not supported by the TypeScript SDK: set TEMPORAL_TLS_SERVER_NAME to the name in the server's certificate",
    };
  }
  // The SDK takes a missing file for an empty one; a set path that does not exist is a typo.
  if (v.TEMPORAL_CONFIG_FILE && !existsSync(v.TEMPORAL_CONFIG_FILE)) {
    return { variable: 'TEMPORAL_CONFIG_FILE', message: `no such file: ${v.TEMPORAL_CONFIG_FILE}` };
  }
  let c: TemporalConnection;
  try {
    c = loadConnection(v);
  } catch (error) {
    const variable =
      v.TEMPORAL_PROFILE && /profile/i.test((error as Error).message)
        ? 'TEMPORAL_PROFILE'
        : 'TEMPORAL_CONFIG_FILE';
    return { variable, message: (error as Error).message };
  }
  if (!c.address && (c.tls || c.apiKey)) {
    return {
      variable: 'TEMPORAL_ADDRESS',
      message: 'must be set (here or in the profile) with TLS or an API key: the embedded server has neither',
    };
  }
  const tls = typeof c.tls === 'object' ? c.tls : undefined;
  if (
    tls &&
    Boolean(v.TEMPORAL_TLS_CLIENT_CERT_PATH ?? v.TEMPORAL_TLS_CLIENT_CERT_DATA) !==
      Boolean(v.TEMPORAL_TLS_CLIENT_KEY_PATH ?? v.TEMPORAL_TLS_CLIENT_KEY_DATA)
  ) {
    return {
      variable: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
      message: 'a client certificate and its key go together: set both or neither',
    };
  }
  return undefined;
}

export const temporalSection = defineConfigSection(
  'temporal',
  z
    .object({
      ...connectionVariables,
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
    })
    .superRefine((v, ctx) => {
      const problem = connectionProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', path: [problem.variable], message: problem.message });
    }),
  (v) => {
    const connection = loadConnection(v);
    return {
      /** Unset (no variable, no profile address): `npm start` runs the embedded bin/temporal-dev. */
      address: connection.address,
      namespace: connection.namespace ?? 'default',
      /** TLS, API key and gRPC metadata for Connection.connect and NativeConnection.connect alike. */
      connection: {
        ...(connection.tls !== undefined ? { tls: connection.tls } : {}),
        ...(connection.apiKey ? { apiKey: connection.apiKey } : {}),
        ...(connection.metadata ? { metadata: connection.metadata } : {}),
      },
      taskQueue: v.TEMPORAL_TASK_QUEUE ?? 'disburse',
      grpcCompression: v.TEMPORAL_GRPC_COMPRESSION ?? (connection.address ? 'gzip' : 'none'),
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
    };
  },
);

export type TemporalConfig =
  ReturnType<typeof temporalSection.parse> extends infer R
    ? R extends { ok: true; value: infer T }
      ? T
      : never
    : never;
