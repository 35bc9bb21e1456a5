// Test helper: a Temporal test environment backed by bin/temporal-dev by default, or by the official
// binaries when TEMPORAL_TEST_SERVER_PATH (time-skipping) / TEMPORAL_CLI_PATH (dev server) are set.
// The machinery is the temporal-dev package's; Disburse adds its search attributes.
import { fileURLToPath } from 'node:url';
import {
  createTestEnv as createPackageTestEnv,
  type SearchAttributeTypeName,
  type TestEnvOptions,
} from '@disburse/temporal-dev/testing';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

export {
  addSearchAttributes,
  installQuietLogger,
  quietBundlerLogger,
  type SearchAttributeTypeName,
  type TestEnvOptions,
  usingOfficialServer,
} from '@disburse/temporal-dev/testing';

export const TEMPORAL_DEV_PATH = fileURLToPath(new URL('../../bin/temporal-dev', import.meta.url));

/** Disburse's custom search attributes (operators filter payouts by them in Temporal UI). */
export const DISBURSE_SEARCH_ATTRIBUTES: Record<string, SearchAttributeTypeName> = {
  PayeeId: 'Keyword',
  PayoutState: 'Keyword',
  Provider: 'Keyword',
  Currency: 'Keyword',
  PeriodId: 'Keyword',
  PayoutAmount: 'Int',
};

export function createTestEnv(opts: TestEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  return createPackageTestEnv({ temporalDevPath: TEMPORAL_DEV_PATH, ...opts });
}
