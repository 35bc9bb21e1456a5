export type {
  BankAccountDestination,
  CardDestination,
  CryptoDestination,
  DestinationDetails,
  DestinationKind,
  WalletDestination,
} from './destinations.ts';
export { destinationKinds, destinationSchemas } from './destinations.ts';
export { Payee, PayeeDestination, PayeeDestinationChange, payeeEntities } from './entities.ts';
export type { RotationReport } from './rotation.ts';
export { rotateEncryption } from './rotation.ts';
export type { CreatePayeeInput, DestinationView, PayeeView, UpdatePayeeInput } from './schemas.ts';
export type { DestinationRiskFacts, PayeeService, PayeeServiceDeps } from './service.ts';
export { createPayeeService, PayeeError } from './service.ts';
