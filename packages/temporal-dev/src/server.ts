// Assembles the gRPC server: WorkflowService, OperatorService, TestService (time-skipping mode)
// and grpc.health.v1, all backed by one Engine.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { BatchJob } from './batch-service.ts';
import { Clock } from './clock.ts';
import { Engine, type Logger } from './engine.ts';
import { addService } from './grpc-server.ts';
import { operatorServiceHandlers } from './operator-service.ts';
import { checkStateFile, loadState } from './persistence.ts';
import { Retention } from './retention.ts';
import { rowScheduleStore, type ScheduleRow } from './schedule-store.ts';
import { Schedules } from './schedules.ts';
import { SqliteStore } from './sqlite-store.ts';
import { testServiceHandlers } from './test-service.ts';
import { Visibility } from './visibility.ts';
import { workflowServiceHandlers } from './workflow-service.ts';

export const SERVER_VERSION = '1.28.0';

export interface DevServerOptions {
  ip: string;
  port: number;
  /** The HTTP API (http-gateway.ts) on this port; 0 = a free one; unset = none. */
  httpPort?: number;
  timeSkipping: boolean;
  namespaces: string[];
  searchAttributes: Array<[string, number]>;
  log: Logger;
  /** --db-filename: state in this SQLite file, resumed on start (else in memory). */
  dbFilename?: string;
  /** PEM files (args.ts --tls-*): TLS with cert+key; with ca, client certificates are required. */
  tls?: { cert?: string; key?: string; ca?: string };
}

export interface RunningServer {
  engine: Engine;
  retention: Retention;
  port: number;
  httpPort?: number;
  shutdown(): Promise<void>;
}

function addHealth(server: grpc.Server): void {
  // grpc.health.v1.Health/Check → HealthCheckResponse{status: SERVING}; encoded by hand (one enum field).
  const serving = Buffer.from([0x08, 0x01]);
  const def: grpc.ServiceDefinition = {
    Check: {
      path: '/grpc.health.v1.Health/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
  server.addService(def, { Check: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, serving) });
}

function credentials(tls: DevServerOptions['tls']): grpc.ServerCredentials {
  if (!tls?.cert || !tls.key) return grpc.ServerCredentials.createInsecure();
  const ca = tls.ca ? readFileSync(tls.ca) : null;
  const pair = { cert_chain: readFileSync(tls.cert), private_key: readFileSync(tls.key) };
  // With a CA, a client without a certificate signed by it is refused during the handshake.
  return grpc.ServerCredentials.createSsl(ca, [pair], ca !== null);
}

export async function startDevServer(opts: DevServerOptions): Promise<RunningServer> {
  const clock = new Clock({ skipping: opts.timeSkipping });
  // [sqlite] the state store: opened, and an existing file's runs resumed, before anything is served.
  if (opts.dbFilename) checkStateFile(opts.dbFilename);
  const store = new SqliteStore(opts.dbFilename, opts.log);
  const engine = new Engine(clock, opts.log, store);
  for (const [name, type] of opts.searchAttributes) engine.defaultSearchAttributes.set(name, type);
  if (store.durable) loadState(engine, store, opts.log);
  for (const ns of opts.namespaces) engine.ensureNamespace(ns);
  // Closed runs are deleted once their namespace's retention has passed (also those loaded back).
  const retention = new Retention(engine);
  const visibility = new Visibility(engine);
  // Schedules (schedules.ts), kept in the state store; Temporal UI counts them through visibility.
  const schedules = new Schedules(
    engine,
    rowScheduleStore(store.recordStore('schedules', (r: ScheduleRow) => [r.namespace, r.scheduleId])),
  );
  visibility.extraRecords = (ns) => schedules.visibilityRecords(ns);
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 128 * 1024 * 1024,
    'grpc.max_send_message_length': 128 * 1024 * 1024,
  });
  const svcLog = { debug: opts.log.debug, error: opts.log.error };
  const served = {
    'temporal.api.workflowservice.v1.WorkflowService': workflowServiceHandlers(engine, visibility, {
      version: SERVER_VERSION,
      schedules,
      batchJobs: store.recordStore('batch_jobs', (j: BatchJob) => [j.ns, j.jobId]),
    }),
    'temporal.api.operatorservice.v1.OperatorService': operatorServiceHandlers(engine),
  };
  for (const [name, handlers] of Object.entries(served)) addService(server, name, handlers, svcLog);
  addService(
    server,
    'temporal.api.testservice.v1.TestService',
    opts.timeSkipping ? testServiceHandlers(clock) : {},
    svcLog,
  );
  addHealth(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.ip}:${opts.port}`, credentials(opts.tls), (err, p) =>
      err ? reject(err) : resolve(p),
    );
  });
  // Loaded only when asked for: most starts (every test) have no use for it.
  let http: import('node:http').Server | undefined;
  if (opts.httpPort !== undefined) {
    const { createHttpGateway } = await import('./http-gateway.ts');
    http = createHttpGateway(served, svcLog);
    await new Promise<void>((resolve, reject) => {
      http!.once('error', reject).listen(opts.httpPort, opts.ip, () => resolve());
    });
  }
  const httpAddress = http?.address();
  return {
    engine,
    retention,
    port,
    ...(httpAddress && typeof httpAddress === 'object' ? { httpPort: httpAddress.port } : {}),
    shutdown: async () => {
      http?.close();
      http?.closeAllConnections();
      engine.releaseAllPolls();
      clock.stop();
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
      store.close();
    },
  };
}
