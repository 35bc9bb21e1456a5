export {
  type Asset,
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
  fromDinero,
  type Money,
  type MoneyRules,
  minorUnits,
  money,
  parseDecimal,
  parseMoney,
  sameCurrency,
  toDinero,
} from './money.ts';
