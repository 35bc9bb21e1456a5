// Amazon SNS message signatures. Circle Mint delivers its notifications through an SNS topic: the subscriber
// endpoint receives SNS messages (SubscriptionConfirmation, Notification, UnsubscribeConfirmation), each signed
// by SNS: `Signature` = base64 RSA signature (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) of a canonical
// string of the message's fields, verifiable with the X.509 certificate at `SigningCertURL`. The certificate is
// trusted by where it comes from: only https://sns.<region>.amazonaws.com(.cn)/….pem (TLS authenticates the
// host), or an origin the adapter was told to trust (a local fake). Fetched once per URL.
import { createVerify, type KeyObject, X509Certificate } from 'node:crypto';
import { WebhookVerificationError } from '../errors.ts';

export interface SnsMessage {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
  Signature?: string;
  SignatureVersion?: string;
  SigningCertURL?: string;
}

const FIELDS: Record<string, readonly (keyof SnsMessage)[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: [
    'Message',
    'MessageId',
    'SubscribeURL',
    'Timestamp',
    'Token',
    'TopicArn',
    'Type',
  ],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};

/** The string SNS signs: "<name>\n<value>\n" for each field of the message type, in order; absent ones skipped. */
export function snsStringToSign(m: SnsMessage): string {
  const fields = FIELDS[m.Type];
  if (!fields) throw new WebhookVerificationError('malformed_body', `unknown SNS message type ${m.Type}`);
  let out = '';
  for (const f of fields) {
    const v = m[f];
    if (v !== undefined) out += `${f}\n${v}\n`;
  }
  return out;
}

/** An SNS endpoint host: sns.<region>.amazonaws.com, or .amazonaws.com.cn in the China regions. */
export function isSnsUrl(u: URL): boolean {
  return u.protocol === 'https:' && /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(u.hostname);
}

/** True when the parsed body is an SNS message (has the SNS fields), whether or not it is signed. */
export function isSnsMessage(body: Record<string, unknown>): body is Record<string, unknown> & SnsMessage {
  return (
    typeof body.Type === 'string' &&
    typeof body.MessageId === 'string' &&
    typeof body.TopicArn === 'string' &&
    typeof body.Message === 'string' &&
    typeof body.Timestamp === 'string'
  );
}

export interface SnsVerifierOptions {
  /** Origins besides SNS's own whose certificates are trusted (a local fake in tests). */
  trustedOrigins: readonly string[];
  /** When non-empty, only messages of these topics are accepted (Circle's subscription ARN). */
  topicArns: readonly string[];
  fetch: typeof fetch;
  timeoutMs: number;
  now?: () => Date;
}

export class SnsVerifier {
  readonly #o: SnsVerifierOptions;
  readonly #keys = new Map<string, KeyObject>();

  constructor(o: SnsVerifierOptions) {
    this.#o = o;
  }

  /** Throws WebhookVerificationError unless `m` is signed by SNS for an accepted topic. */
  async verify(m: SnsMessage): Promise<void> {
    if (!m.Signature || !m.SigningCertURL) {
      throw new WebhookVerificationError(
        'missing_signature',
        'the SNS message has no Signature / SigningCertURL',
      );
    }
    const algorithm =
      m.SignatureVersion === '1' ? 'RSA-SHA1' : m.SignatureVersion === '2' ? 'RSA-SHA256' : undefined;
    if (!algorithm) {
      throw new WebhookVerificationError(
        'unsupported_algorithm',
        `SNS SignatureVersion ${m.SignatureVersion ?? '(none)'} is not 1 or 2`,
      );
    }
    if (this.#o.topicArns.length > 0 && !this.#o.topicArns.includes(m.TopicArn)) {
      throw new WebhookVerificationError(
        'unexpected_topic',
        `SNS topic ${m.TopicArn} is not the configured Circle subscription topic`,
      );
    }
    const key = await this.#certificateKey(m.SigningCertURL);
    const ok = createVerify(algorithm)
      .update(snsStringToSign(m), 'utf8')
      .verify(key, Buffer.from(m.Signature, 'base64'));
    if (!ok) {
      throw new WebhookVerificationError(
        'invalid_signature',
        'the SNS Signature does not match the message for its signing certificate',
      );
    }
  }

  async #certificateKey(url: string): Promise<KeyObject> {
    const known = this.#keys.get(url);
    if (known) return known;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new WebhookVerificationError('untrusted_certificate', 'SigningCertURL is not a URL');
    }
    const trusted = isSnsUrl(u) || this.#o.trustedOrigins.includes(u.origin);
    if (!trusted || !u.pathname.endsWith('.pem')) {
      throw new WebhookVerificationError(
        'untrusted_certificate',
        `SigningCertURL at ${u.origin} is not an Amazon SNS certificate`,
      );
    }
    let pem: string;
    try {
      const res = await this.#o.fetch(u, {
        redirect: 'error',
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      pem = await res.text();
    } catch (err) {
      // SNS did not serve its certificate: not a refusal of the message, which SNS delivers again.
      throw new WebhookVerificationError(
        'verifier_unavailable',
        `could not fetch the SNS signing certificate: ${(err as Error).message}`,
      );
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      throw new WebhookVerificationError(
        'untrusted_certificate',
        'SigningCertURL did not serve an X.509 certificate',
      );
    }
    const now = (this.#o.now ?? (() => new Date()))();
    if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
      throw new WebhookVerificationError(
        'untrusted_certificate',
        'the SNS signing certificate is not valid now',
      );
    }
    this.#keys.set(url, cert.publicKey);
    return cert.publicKey;
  }
}
