// Workflows for the fidelity tests (namespaces, visibility, limits): each shows one server behaviour.
import { executeChild, workflowInfo } from '@temporalio/workflow';

/** What the workflow sees of a Datetime search attribute set at start (the real server types it). */
export async function readsReviewAt(): Promise<string> {
  const value = workflowInfo().searchAttributes?.ReviewAt?.[0];
  return value instanceof Date ? `Date ${value.toISOString()}` : `${typeof value} ${String(value)}`;
}

/** A chain of `depth` workflows: each starts the next as its child and returns the chain's ids. */
export async function chain(depth: number): Promise<string[]> {
  const me = workflowInfo().workflowId;
  if (depth <= 1) return [me];
  const rest = await executeChild(chain, { workflowId: `${me}-child`, args: [depth - 1] });
  return [me, ...rest];
}

export async function quick(): Promise<string> {
  return 'done';
}
