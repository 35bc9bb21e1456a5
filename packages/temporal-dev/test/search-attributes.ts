// Custom search attributes the tests register (payout-like names, as an application's would be).
import type { SearchAttributeTypeName } from '../src/testing.ts';

export const TEST_SEARCH_ATTRIBUTES: Record<string, SearchAttributeTypeName> = {
  PayeeId: 'Keyword',
  PayoutState: 'Keyword',
  Provider: 'Keyword',
  Currency: 'Keyword',
  PeriodId: 'Keyword',
  PayoutAmount: 'Int',
};
