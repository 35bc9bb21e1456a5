/** Webhook endpoints managed over the API (besides WEBHOOK_ENDPOINTS), and which one each attempt went to. */
export const name = '0083-webhook-endpoints';

export const up = `
-- Secrets are AES-256-GCM envelopes (src/crypto, additional data = the endpoint id), shown once in clear.
-- During a rotation the previous secret keeps signing until previous_secret_expires_at.
CREATE TABLE webhook_endpoints (
  id text PRIMARY KEY CHECK (id ~ '^we_[0-9a-f]{24}$'),
  url text NOT NULL CHECK (url ~ '^https?://'),
  description text,
  status text NOT NULL CHECK (status IN ('enabled', 'disabled')),
  secret_ciphertext text NOT NULL,
  previous_secret_ciphertext text,
  previous_secret_expires_at timestamptz,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz,
  disabled_at timestamptz,
  CHECK ((previous_secret_ciphertext IS NULL) = (previous_secret_expires_at IS NULL))
);

-- NULL endpoint_id: an endpoint from WEBHOOK_ENDPOINTS (keyed by its URL in endpoint, as before).
ALTER TABLE webhook_delivery_attempts ADD COLUMN endpoint_id text REFERENCES webhook_endpoints (id);
CREATE INDEX webhook_delivery_attempts_endpoint_id ON webhook_delivery_attempts (event_id, endpoint_id);
`;
