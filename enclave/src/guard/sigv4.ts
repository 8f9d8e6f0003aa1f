/**
 * Signature Version 4 (AWS4-HMAC-SHA256) for the guard's one request shape:
 * `POST /`, no query, a JSON body, and the headers `content-type`, `host`,
 * `x-amz-content-sha256`, `x-amz-date`, `x-amz-security-token` (with a
 * session token) and `x-amz-target`, all signed. These are the headers and
 * the signature AWS's own signer (`@smithy/signature-v4`, with its default
 * `applyChecksum`) makes for the same request; `enclave/test/guard-sigv4.test.ts`
 * checks that on random requests, and checks the general algorithm below on
 * AWS's published SigV4 test suite.
 *
 * Why our own: the generic signer costs the enclave's main thread (taken from
 * the PIN stretch) about 0.2 ms per guard write, in header maps, sorting,
 * regular expressions, per-step promises and a module-wide key cache keyed by
 * strings; here one request is three hashes over strings built in one go.
 *
 * The signer keeps no copy of the secret access key as a string: only the
 * bytes of `AWS4<secret>` (the first HMAC's key), as SecretBytes, zeroed by
 * `destroy`; the day's signing key likewise (zeroed when the day changes); the
 * intermediate keys are zeroed as soon as they are used. (The string the
 * caller passed in is the caller's, and cannot be zeroed.)
 */
import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac } from 'node:crypto';
import { SecretBytes } from '../secret.js';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const CONTENT_TYPE = 'application/x-amz-json-1.0';

/** Hex SHA-256 of a string's UTF-8: node:crypto's one-shot `hash` where Node has it (20.12 and later), else a Hash. */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha256Hex =
  typeof oneShot === 'function'
    ? (data: string): string => oneShot('sha256', data, 'hex')
    : (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');

/** A header value as SigV4 canonicalises it (line breaks to spaces, runs of spaces and tabs to one, no leading or trailing space). */
export const canonicalValue = (value: string): string =>
  /[\r\n\t ]/.test(value)
    ? value
        .replace(/[\r\n]/g, ' ')
        .replace(/[ \t]+/g, ' ')
        .replace(/^ | $/g, '')
    : value;

/** `20150830T123600Z` for a time. */
export function amzDate(at: Date): string {
  const iso = at.toISOString(); // 2015-08-30T12:36:00.000Z
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
}

/** The headers of a signed request (names in lower case, as signed). */
export interface SignedHeaders {
  host: string;
  'content-type': string;
  'x-amz-target': string;
  'x-amz-date': string;
  'x-amz-security-token'?: string;
  'x-amz-content-sha256': string;
  authorization: string;
}

export class SigV4 {
  private readonly accessKeyId: string;
  private readonly sessionToken: string | undefined;
  /** The canonical form of the session token (the same string, unless it has spaces). */
  private readonly canonicalToken: string | undefined;
  private readonly region: string;
  private readonly service: string;
  /** `/<region>/<service>/aws4_request`: the credential scope after its date. */
  private readonly scopeTail: string;
  /** `AWS4` followed by the secret's UTF-8 bytes: the key of the first HMAC. */
  private kSecret: SecretBytes;
  private keyDate = '';
  private kSigning: SecretBytes | undefined;
  private second = -1;
  private secondText = '';

  constructor(credentials: SigV4Credentials, region: string, service: string) {
    this.accessKeyId = credentials.accessKeyId;
    this.sessionToken = credentials.sessionToken || undefined;
    this.canonicalToken = this.sessionToken === undefined ? undefined : canonicalValue(this.sessionToken);
    this.region = region;
    this.service = service;
    this.scopeTail = `/${region}/${service}/aws4_request`;
    // Written in place: no Buffer.from(secret), which would leave a copy in Node's shared pool.
    const secret = credentials.secretAccessKey;
    this.kSecret = SecretBytes.alloc(4 + Buffer.byteLength(secret, 'utf8'));
    const view = Buffer.from(this.kSecret.buffer, this.kSecret.byteOffset, this.kSecret.length);
    view.write('AWS4', 0, 'latin1');
    view.write(secret, 4, 'utf8');
  }

  /** Logs and inspections show what the signer is for, never its session token (a credential too). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SigV4 { accessKeyId: ${JSON.stringify(this.accessKeyId)}, scope: ${JSON.stringify(this.scopeTail)}, sessionToken: ${this.sessionToken === undefined ? 'none' : '[redacted]'} }`;
  }

  toJSON(): Record<string, string> {
    return { accessKeyId: this.accessKeyId, scope: this.scopeTail, sessionToken: this.sessionToken === undefined ? 'none' : '[redacted]' };
  }

  /** The signing key of a day (`20150830`): derived once a day and kept; the previous day's is zeroed. */
  private signingKey(shortDate: string): SecretBytes {
    if (this.kSigning && this.keyDate === shortDate) return this.kSigning;
    if (this.kSecret.length === 0) throw new Error('the signer was destroyed');
    const kDate = createHmac('sha256', this.kSecret).update(shortDate, 'utf8').digest();
    const kRegion = createHmac('sha256', kDate).update(this.region, 'utf8').digest();
    kDate.fill(0);
    const kService = createHmac('sha256', kRegion).update(this.service, 'utf8').digest();
    kRegion.fill(0);
    const kSigning = SecretBytes.adopt(createHmac('sha256', kService).update('aws4_request', 'utf8').digest());
    kService.fill(0);
    this.kSigning?.dispose();
    this.kSigning = kSigning;
    this.keyDate = shortDate;
    return kSigning;
  }

  /**
   * The Authorization header of a request, from its canonical headers: `canonicalHeaders` is the
   * `name:value\n` lines sorted by name (names in lower case, values canonical), `signedHeaders` their
   * names joined by `;`. The general step, over any `POST /` without query.
   */
  authorization(longDate: string, canonicalHeaders: string, signedHeaders: string, payloadHash: string): string {
    const shortDate = longDate.slice(0, 8);
    const scope = shortDate + this.scopeTail;
    const canonicalRequest = 'POST\n/\n\n' + canonicalHeaders + '\n' + signedHeaders + '\n' + payloadHash;
    const stringToSign = ALGORITHM + '\n' + longDate + '\n' + scope + '\n' + sha256Hex(canonicalRequest);
    const signature = createHmac('sha256', this.signingKey(shortDate)).update(stringToSign, 'utf8').digest('hex');
    return ALGORITHM + ' Credential=' + this.accessKeyId + '/' + scope + ', SignedHeaders=' + signedHeaders + ', Signature=' + signature;
  }

  /** The current second as `x-amz-date`, formatted once a second. */
  private now(): string {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.second) {
      this.secondText = amzDate(new Date(second * 1000));
      this.second = second;
    }
    return this.secondText;
  }

  /** Signs `POST /` to `host` with a JSON `body` for `target` (`DynamoDB_20120810.UpdateItem`), at `at` (by default now). */
  signJsonPost(host: string, target: string, body: string, at?: Date): SignedHeaders {
    const longDate = at ? amzDate(at) : this.now();
    const payloadHash = sha256Hex(body);
    // Sorted by name: content-type, host, x-amz-content-sha256, x-amz-date, x-amz-security-token, x-amz-target.
    const token = this.canonicalToken === undefined ? '' : 'x-amz-security-token:' + this.canonicalToken + '\n';
    const canonicalHeaders =
      'content-type:' +
      CONTENT_TYPE +
      '\nhost:' +
      canonicalValue(host) +
      '\nx-amz-content-sha256:' +
      payloadHash +
      '\nx-amz-date:' +
      longDate +
      '\n' +
      token +
      'x-amz-target:' +
      canonicalValue(target) +
      '\n';
    const signedHeaders =
      this.sessionToken === undefined
        ? 'content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target'
        : 'content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target';
    const headers: SignedHeaders = {
      host,
      'content-type': CONTENT_TYPE,
      'x-amz-target': target,
      'x-amz-date': longDate,
      'x-amz-content-sha256': payloadHash,
      authorization: this.authorization(longDate, canonicalHeaders, signedHeaders, payloadHash),
    };
    if (this.sessionToken !== undefined) headers['x-amz-security-token'] = this.sessionToken;
    return headers;
  }

  /** Zeroes the secret's and the signing key's bytes; the signer signs nothing after. */
  destroy(): void {
    this.kSecret.dispose();
    this.kSecret = SecretBytes.alloc(0);
    this.kSigning?.dispose();
    this.kSigning = undefined;
    this.keyDate = '';
  }
}
