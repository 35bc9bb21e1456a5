export {
  ACCOUNT_KINDS,
  type AccountKind,
  type AccountRef,
  NON_NEGATIVE_KINDS,
  PAYEE_KINDS,
  type PayeeAccountKind,
  PLATFORM,
} from './accounts.ts';
export { LedgerAccount, LedgerEntry, LedgerTransaction, ledgerEntities } from './entities.ts';
export {
  AlreadyReversed,
  HoldAlreadyResolved,
  IdempotencyConflict,
  InsufficientFunds,
  InvalidCursor,
  InvalidPosting,
  LedgerError,
  TransactionNotFound,
  UnbalancedTransaction,
} from './errors.ts';
export type { FxRate } from './fx.ts';
export {
  type AccountHistory,
  type BatchResult,
  type HistoryEntry,
  Ledger,
  type LedgerStore,
  type PayeeBalance,
  type PostedEntry,
  type PostedTransaction,
  type SettleLegKind,
  type SettleLegs,
} from './ledger.ts';
export type { EntryInput, PostingInput } from './posting.ts';
export {
  availableBalance,
  availableBalanceSubquery,
  availableBalancesPage,
  type DayWindow,
  earningsCredited,
  lockPayeeBalances,
  lockPayeeWallet,
  type PayeeAccountBalance,
  payeesCreditedEarnings,
  postedKeys,
  postedTransactions,
} from './reads.ts';
export { type LedgerReport, type LedgerViolation, verifyLedger } from './verify.ts';
