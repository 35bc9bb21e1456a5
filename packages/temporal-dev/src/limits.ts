// The real server's limits, with its dynamic config keys and defaults; `--dynamic-config-value KEY=VALUE`
// (args.ts) overrides them as it does on `temporal server start-dev`. Keys it does not know are ignored.
import { invalidArgument } from './errors.ts';
import type { Payload } from './model.ts';

export interface Limits {
  /** limit.blobSize.error: a payload larger than this is refused. */
  blobSizeError: number;
  /** limit.blobSize.warn: a larger one is accepted with a warning in the log. */
  blobSizeWarn: number;
  /** limit.maxIDLength: workflow id, type, task queue, signal and update names. */
  maxIdLength: number;
  /** history.maxInFlightUpdates: admitted or accepted, not completed. */
  maxInFlightUpdates: number;
  /** history.maxTotalUpdates: over the run's life (rejections do not count). */
  maxTotalUpdates: number;
  /** limit.historyCount.suggestContinueAsNew */
  historyCountSuggestContinueAsNew: number;
  /** limit.historySize.suggestContinueAsNew (bytes of the serialized events) */
  historySizeSuggestContinueAsNew: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  blobSizeError: 2 * 1024 * 1024,
  blobSizeWarn: 512 * 1024,
  maxIdLength: 1000,
  maxInFlightUpdates: 10,
  maxTotalUpdates: 2000,
  historyCountSuggestContinueAsNew: 4 * 1024,
  historySizeSuggestContinueAsNew: 4 * 1024 * 1024,
};

const KEYS: Record<string, keyof Limits> = {
  'limit.blobSize.error': 'blobSizeError',
  'limit.blobSize.warn': 'blobSizeWarn',
  'limit.maxIDLength': 'maxIdLength',
  'history.maxInFlightUpdates': 'maxInFlightUpdates',
  'history.maxTotalUpdates': 'maxTotalUpdates',
  'limit.historyCount.suggestContinueAsNew': 'historyCountSuggestContinueAsNew',
  'limit.historySize.suggestContinueAsNew': 'historySizeSuggestContinueAsNew',
};

/** The limits in force in this process. */
export const limits: Limits = { ...DEFAULT_LIMITS };

/** Applies `--dynamic-config-value` pairs; a known key with a value that is not a number is an error. */
export function applyDynamicConfig(values: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(values)) {
    const field = KEYS[key];
    if (!field) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(
        `--dynamic-config-value ${key}: expected a non-negative number, got ${JSON.stringify(value)}`,
      );
    }
    limits[field] = value;
  }
}

/** The server's errWorkflowIDTooLong and its siblings. */
export function checkIdLength(value: unknown, what: string): void {
  if (typeof value === 'string' && value.length > limits.maxIdLength)
    throw invalidArgument(`${what} exceeds length limit.`);
}

function payloadBytes(p: Payload): number {
  let n = p.data?.length ?? 0;
  for (const [k, v] of Object.entries(p.metadata ?? {})) n += k.length + (v?.length ?? 0);
  return n;
}

/** Sum of a Payloads message's payloads, as the server's blob size check counts them. */
export function payloadsSize(payloads: { payloads?: Payload[] } | undefined): number {
  let n = 0;
  for (const p of payloads?.payloads ?? []) n += payloadBytes(p);
  return n;
}

/** ErrBlobSizeExceedsLimit for a request's input; a warning above limit.blobSize.warn. */
export function checkBlobSize(
  payloads: { payloads?: Payload[] } | undefined,
  what: string,
  warn?: (message: string) => void,
): void {
  const size = payloadsSize(payloads);
  if (size > limits.blobSizeError) {
    throw invalidArgument('Blob data size exceeds limit.');
  }
  if (size > limits.blobSizeWarn)
    warn?.(`${what}: blob size ${size} bytes exceeds the warning limit ${limits.blobSizeWarn}`);
}
