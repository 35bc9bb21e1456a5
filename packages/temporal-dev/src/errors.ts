// gRPC status errors raised by the engine; the gRPC layer turns them into status responses.
import { status } from '@grpc/grpc-js';

export class RpcError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export const invalidArgument = (msg: string): RpcError => new RpcError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string): RpcError => new RpcError(status.NOT_FOUND, msg);
export const alreadyExists = (msg: string): RpcError => new RpcError(status.ALREADY_EXISTS, msg);
export const failedPrecondition = (msg: string): RpcError => new RpcError(status.FAILED_PRECONDITION, msg);
export const unimplemented = (msg: string): RpcError => new RpcError(status.UNIMPLEMENTED, msg);
