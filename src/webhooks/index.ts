export type { StoredWebhookEndpoint } from './endpoints.ts';
export {
  DEFAULT_ROTATION_GRACE_MS,
  WEBHOOK_ENDPOINT_ID,
  WebhookEndpointNotFoundError,
  WebhookEndpointStore,
} from './endpoints.ts';
export type {
  DeliveryAttempt,
  OutboxRow,
  WebhookEndpoint,
  WebhookEvent,
  WebhookOutboxOptions,
} from './outbox.ts';
export {
  WebhookDeliveryError,
  WebhookEventNotFoundError,
  WebhookOutbox,
  webhookBody,
  webhookEventId,
} from './outbox.ts';
export type { SignedHeaders, VerifiedWebhook } from './signing.ts';
export {
  DEFAULT_TOLERANCE_SECONDS,
  generateWebhookSecret,
  secretKey,
  signWebhook,
  verifyWebhook,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  WebhookVerificationError,
} from './signing.ts';
