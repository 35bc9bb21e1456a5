// Activity interceptors: activity logs (the SDK's, e.g. "Activity failed", and `log` in activities) carry
// the payout/period id of their workflow and the request id it was started by.
import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';
import { idsOfWorkflow, requestIdOf } from './log-context.ts';

export const workflowLogInterceptors = new URL('../../workflows/log-interceptors.ts', import.meta.url);

export function activityLogInterceptors(ctx: Context): ActivityInterceptors {
  let requestId: string | undefined;
  return {
    inbound: {
      execute(input, next) {
        requestId = requestIdOf(input.headers);
        return next(input);
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        const workflowId = ctx.info.workflowExecution?.workflowId;
        return next({
          ...input,
          ...(workflowId ? idsOfWorkflow(workflowId) : {}),
          ...(requestId ? { requestId } : {}),
        });
      },
    },
  };
}
