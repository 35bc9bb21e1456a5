// gRPC status errors raised by the engine; the gRPC layer turns them into status responses.
import { status } from '@grpc/grpc-js';

/** A google.protobuf.Any, as the real server attaches to some errors (grpc-status-details-bin). */
export interface ErrorDetail {
  typeName: string;
  value: unknown;
}

export class RpcError extends Error {
  readonly code: number;
  readonly detail: ErrorDetail | undefined;
  constructor(code: number, message: string, detail?: ErrorDetail) {
    super(message);
    this.code = code;
    this.detail = detail;
  }
}

export const invalidArgument = (msg: string): RpcError => new RpcError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string): RpcError => new RpcError(status.NOT_FOUND, msg);
export const alreadyExists = (msg: string): RpcError => new RpcError(status.ALREADY_EXISTS, msg);
export const failedPrecondition = (msg: string): RpcError => new RpcError(status.FAILED_PRECONDITION, msg);
export const unimplemented = (msg: string): RpcError => new RpcError(status.UNIMPLEMENTED, msg);
export const resourceExhausted = (msg: string): RpcError => new RpcError(status.RESOURCE_EXHAUSTED, msg);

/** The real server's serviceerror.NamespaceNotFound: the SDK's client throws NamespaceNotFoundError on it. */
export const namespaceNotFound = (namespace: string): RpcError =>
  new RpcError(status.NOT_FOUND, `Namespace ${namespace} is not found.`, {
    typeName: 'temporal.api.errordetails.v1.NamespaceNotFoundFailure',
    value: { namespace },
  });

export const namespaceAlreadyExists = (): RpcError =>
  new RpcError(status.ALREADY_EXISTS, `Namespace already exists.`, {
    typeName: 'temporal.api.errordetails.v1.NamespaceAlreadyExistsFailure',
    value: {},
  });
