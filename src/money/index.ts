export {
  type Asset,
  type Currency,
  configureAssets,
  configuredAssets,
  currencyOf,
  DEFAULT_ASSETS,
  isCurrencyCode,
  parseAssetList,
} from './currency.ts';
export { MoneyError, type MoneyErrorReason } from './errors.ts';
export {
  formatDecimal,
  type Money,
  type MoneyRules,
  minorUnits,
  money,
  parseDecimal,
  parseMoney,
  sameCurrency,
} from './money.ts';
