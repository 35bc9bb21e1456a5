export { DecryptionError, decrypt, encrypt, envelopeKid, needsRotation, reencrypt } from './envelope.ts';
export { fingerprint, normaliseIdentifier } from './fingerprint.ts';
export type { Keyring } from './keyring.ts';
export { KeyringConfigError, keyringFromKeys, parseKeyring } from './keyring.ts';
export { lastFour, mask } from './mask.ts';
