// Serves protobufjs-reflected Temporal services over @grpc/grpc-js; every RPC without a handler
// answers UNIMPLEMENTED naming the RPC.
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { RpcError } from './errors.ts';
import type { Obj } from './model.ts';
import { decode, encode, messageType, methodTypes, packAny, serviceDef } from './proto.ts';

export type Handler = (req: Obj, call: grpc.ServerUnaryCall<Obj, Obj>) => unknown;
export type Handlers = Record<string, Handler | undefined>;

// An RPC without a handler never decodes its request: its types need not be loaded (proto-subset.ts).
function buildDefinition(service: protobuf.Service, handlers: Handlers): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const fullName = service.fullName.replace(/^\./, '');
  const raw = (b: unknown) => b as Buffer;
  for (const method of Object.values(service.methods)) {
    const [reqType, resType] = handlers[method.name] ? methodTypes(fullName, method.name) : [];
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: reqType ? (o: unknown) => encode(reqType, o) : raw,
      requestDeserialize: reqType ? (b: Buffer) => decode(reqType, b) : raw,
      responseSerialize: resType ? (o: unknown) => encode(resType, o) : raw,
      responseDeserialize: resType ? (b: Buffer) => decode(resType, b) : raw,
    };
  }
  return def as grpc.ServiceDefinition;
}

export interface ServiceLog {
  debug(msg: string): void;
  error(msg: string): void;
}

export function addService(server: grpc.Server, fullName: string, handlers: Handlers, log: ServiceLog): void {
  const service = serviceDef(fullName);
  const def = buildDefinition(service, handlers);
  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(def)) {
    const handler = handlers[name];
    impl[name] = (call: grpc.ServerUnaryCall<Obj, Obj>, callback: grpc.sendUnaryData<unknown>) => {
      if (!handler) {
        callback({
          code: grpc.status.UNIMPLEMENTED,
          details: `${fullName}/${name} is not implemented by temporal-dev`,
        });
        return;
      }
      log.debug(`rpc ${name}`);
      let result: unknown;
      try {
        result = handler(call.request, call);
      } catch (err) {
        reply(err);
        return;
      }
      Promise.resolve(result).then((res) => callback(null, res ?? {}), reply);
      function reply(err: unknown): void {
        if (err instanceof RpcError) {
          callback({ code: err.code, details: err.message, metadata: statusDetails(err) });
        } else {
          log.error(`${name} failed: ${(err as Error)?.stack ?? String(err)}`);
          callback({
            code: grpc.status.INTERNAL,
            details: `${name}: ${(err as Error)?.message ?? String(err)}`,
          });
        }
      }
    };
  }
  server.addService(def, impl);
}

/** A detail rides in google.rpc.Status, as the real server sends it: clients decode typed errors from it. */
function statusDetails(err: RpcError): grpc.Metadata | undefined {
  if (!err.detail) return undefined;
  const metadata = new grpc.Metadata();
  const details = [packAny(err.detail.typeName, err.detail.value)];
  const status = encode(messageType('google.rpc.Status'), { code: err.code, message: err.message, details });
  metadata.set('grpc-status-details-bin', status);
  return metadata;
}
