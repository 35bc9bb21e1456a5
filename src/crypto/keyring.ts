// Encryption keys for data at rest. `DISBURSE_ENCRYPTION_KEYS=kid1:base64key,kid2:base64key` — the first key
// is the active one (used to encrypt); every listed key can still decrypt, which is what makes rotation safe.

export interface Keyring {
  readonly activeKid: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

export class KeyringConfigError extends Error {
  override name = 'KeyringConfigError';
}

const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export function parseKeyring(spec: string | undefined, variable = 'DISBURSE_ENCRYPTION_KEYS'): Keyring {
  if (!spec || spec.trim() === '') {
    throw new KeyringConfigError(
      `${variable} is not set: give at least one key as kid:base64key (32 random bytes, e.g. \`openssl rand -base64 32\`)`,
    );
  }
  const keys = new Map<string, Buffer>();
  let activeKid: string | undefined;
  for (const part of spec.split(',')) {
    const item = part.trim();
    const sep = item.indexOf(':');
    if (sep <= 0)
      throw new KeyringConfigError(`${variable}: entry "${item.slice(0, 8)}…" must be kid:base64key`);
    const kid = item.slice(0, sep);
    if (!KID_PATTERN.test(kid)) {
      throw new KeyringConfigError(`${variable}: key id "${kid}" must be 1-32 characters of A-Z a-z 0-9 _ -`);
    }
    const key = Buffer.from(item.slice(sep + 1), 'base64');
    if (key.length !== 32) {
      throw new KeyringConfigError(`${variable}: key "${kid}" must decode to 32 bytes (got ${key.length})`);
    }
    if (keys.has(kid)) throw new KeyringConfigError(`${variable}: key id "${kid}" is listed twice`);
    keys.set(kid, key);
    activeKid ??= kid;
  }
  return { activeKid: activeKid!, keys };
}

export function keyringFromKeys(entries: [kid: string, key: Buffer][]): Keyring {
  if (entries.length === 0) throw new KeyringConfigError('a keyring needs at least one key');
  return { activeKid: entries[0]![0], keys: new Map(entries) };
}
