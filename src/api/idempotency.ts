export { canonicalJson } from '../http/idempotency.ts';
