// Starts the durable expiry timer of a credit grant (workflow `credit-grant-<grantId>`). Starting is
// idempotent: a workflow already running under the id is reused.
import type { Client } from '@temporalio/client';
import type { creditGrantWorkflow, spendbackWebhookWorkflow } from '../../workflows/credit-grant.ts';
import {
  type CreditGrantTimerInput,
  creditGrantWorkflowId,
  spendbackWebhookWorkflowId,
} from '../../workflows/credit-grant-contract.ts';

/** The spendback's durable work in Temporal: grant expiry timers and webhook deliveries. */
export interface GrantTimers {
  start(input: CreditGrantTimerInput): Promise<void>;
  /** Delivers an outbox event by workflow (retried until its transaction commits). */
  deliverWebhook(eventId: string): Promise<void>;
}

export class CreditGrantTimers implements GrantTimers {
  readonly #client: Client;
  readonly #taskQueue: string;

  constructor(client: Client, taskQueue: string) {
    this.#client = client;
    this.#taskQueue = taskQueue;
  }

  async start(input: CreditGrantTimerInput): Promise<void> {
    await this.#client.workflow.start<typeof creditGrantWorkflow>('creditGrantWorkflow', {
      workflowId: creditGrantWorkflowId(input.grantId),
      taskQueue: this.#taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }

  async deliverWebhook(eventId: string): Promise<void> {
    await this.#client.workflow.start<typeof spendbackWebhookWorkflow>('spendbackWebhookWorkflow', {
      workflowId: spendbackWebhookWorkflowId(eventId),
      taskQueue: this.#taskQueue,
      args: [{ eventId }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }
}
