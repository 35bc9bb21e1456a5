// Workflow interceptors (bundled with the workflows; no effect on commands, so replays are unchanged):
// workflow logs carry the payout/period id and the request id of the request that started the
// workflow, and activities it schedules get that request id in their headers.
import type { Payload } from '@temporalio/common';
import { type WorkflowInterceptors, workflowInfo } from '@temporalio/workflow';
import { idsOfWorkflow, REQUEST_ID_HEADER, requestIdOf } from '../src/observability/log-context.ts';

export const interceptors = (): WorkflowInterceptors => {
  let header: Payload | undefined;
  let requestId: string | undefined;
  const withRequestId = <I extends { headers: Record<string, Payload> }>(input: I): I =>
    header ? { ...input, headers: { ...input.headers, [REQUEST_ID_HEADER]: header } } : input;
  return {
    inbound: [
      {
        execute(input, next) {
          header = input.headers[REQUEST_ID_HEADER];
          requestId = requestIdOf(input.headers);
          return next(input);
        },
      },
    ],
    outbound: [
      {
        getLogAttributes(input, next) {
          return next({
            ...input,
            ...idsOfWorkflow(workflowInfo().workflowId),
            ...(requestId ? { requestId } : {}),
          });
        },
        scheduleActivity: (input, next) => next(withRequestId(input)),
        scheduleLocalActivity: (input, next) => next(withRequestId(input)),
      },
    ],
  };
};
