// The request id of the HTTP request being served, carried (AsyncLocalStorage) to the Temporal client,
// which puts it in the header of every workflow it starts: the workflow's logs and its activities' logs
// show it (workflows/log-interceptors.ts, activityLogInterceptors).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { REQUEST_ID_HEADER } from './log-context.ts';

const storage = new AsyncLocalStorage<{ requestId: string }>();

export function withRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

function withHeader<I extends { headers: Record<string, unknown> }>(input: I): I {
  const id = currentRequestId();
  if (!id) return input;
  return {
    ...input,
    headers: { ...input.headers, [REQUEST_ID_HEADER]: defaultPayloadConverter.toPayload(id) },
  };
}

/** Client interceptor: workflows started while serving a request carry its id. */
export function requestIdClientInterceptor(): WorkflowClientInterceptor {
  return {
    start: (input, next) => next(withHeader(input)),
    startWithDetails: (input, next) => next(withHeader(input)),
    signalWithStart: (input, next) => next(withHeader(input)),
  };
}
