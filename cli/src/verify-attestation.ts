/**
 * `enclave-wallet verify-attestation FILE [--root aws|dev|PATH] [--pcr N=HEX]...
 * [--nonce HEX] [--at document|now|ISO-8601] [--key-length N] [--inspect]` (SPEC §8).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttestationError, trustedRoot, verifyAttestationDocument, type AttestationDocument, type TrustedRoot } from '@enclave-wallet/client';
import { UsageError, type Io, eachArg } from './io.js';

export const VERIFY_USAGE = `usage: enclave-wallet verify-attestation FILE [--root aws|dev|PATH] [--pcr N=HEX]... [--nonce HEX] [--at document|now|ISO-8601] [--key-length N] [--inspect]

Verifies a COSE_Sign1 attestation document (raw CBOR, base64, or the JSON answer of
GET /v1/enclave/attestation as saved; - reads stdin).
  --root        aws (default): the AWS Nitro root G1, pinned by fingerprint
                dev: the local dev CA of the simulated NSM (.data/dev-ca/root.der)
                PATH: a DER or PEM root certificate
  --pcr         an expected PCR value, e.g. --pcr 0=9baef839...; repeatable
  --nonce       the expected nonce, hex
  --at          when certificates must be valid: now (default), document, or a time
  --key-length  the document's public key length in bytes (default 32, the X25519 envelope key)
  --inspect     only look at the document: no production policy
With --root aws the production policy applies unless --inspect is given: PCR0
must be pinned (--pcr 0=HEX), PCR0, PCR1 and PCR2 must not be all zeros (a
debug-mode enclave), and the public key must have --key-length bytes.
Prints one JSON object; exits 0 when valid, 1 when not, 2 on bad usage.`;

/** The image measurements a debug-mode enclave reports as all zeros. */
const IMAGE_PCRS = [0, 1, 2] as const;

/**
 * The production policy on a document whose chain, signature and pinned values
 * already verified: no debug-mode (all-zero) image PCR, and a public key of `keyLength` bytes.
 *
 * @throws {AttestationError} DEBUG_ENCLAVE or PUBLIC_KEY_INVALID
 */
export function checkProductionPolicy(doc: Pick<AttestationDocument, 'pcrs' | 'publicKey'>, keyLength: number): void {
  for (const index of IMAGE_PCRS) {
    const value = doc.pcrs.get(index);
    if (!value || value.every((b) => b === 0))
      throw new AttestationError('DEBUG_ENCLAVE', `PCR${index} is ${value ? 'all zeros' : 'absent'}: a debug-mode enclave, whose memory the host can read`);
  }
  if (!doc.publicKey || doc.publicKey.length !== keyLength)
    throw new AttestationError(
      'PUBLIC_KEY_INVALID',
      `the document's public key must be ${keyLength} bytes (it has ${doc.publicKey ? doc.publicKey.length : 'none'}; --key-length N for another key)`,
    );
}

const hex = (b: Uint8Array | undefined): string | null => (b ? Buffer.from(b).toString('hex') : null);

/** Base64 text to bytes, whitespace allowed. */
const base64Bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'base64'));

/**
 * Raw CBOR, base64 text of it (whitespace allowed), or the API's answer to `GET /v1/enclave/attestation` as saved
 * (JSON whose `document` is the base64).
 */
export function readDocument(raw: Buffer): Uint8Array {
  const text = raw.toString('latin1').trim();
  if (text.startsWith('{')) {
    let answer: unknown;
    try {
      answer = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new AttestationError('MALFORMED', "the file starts as JSON but is not JSON: give the document (CBOR or base64), or the API's answer as saved");
    }
    const document = (answer as { document?: unknown } | null)?.document;
    if (typeof document !== 'string')
      throw new AttestationError('MALFORMED', 'the JSON has no "document" string: give the document (CBOR or base64), or the API\'s answer as saved');
    return base64Bytes(document);
  }
  if (text.length > 0 && /^[A-Za-z0-9+/=\s]+$/.test(text)) {
    const decoded = base64Bytes(text);
    if (decoded.length > 0) return decoded;
  }
  return new Uint8Array(raw);
}

function readRoot(value: string, io: Io): TrustedRoot {
  if (value === 'aws') return 'aws';
  const path = value === 'dev' ? join(io.env.ENCLAVE_WALLET_DATA_DIR ?? join(io.cwd, '.data'), 'dev-ca', 'root.der') : value;
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new UsageError(
      `cannot read root certificate ${path}: ${(err as Error).message}${
        value === 'dev'
          ? ' (--root dev reads .data/dev-ca/root.der in this folder, or in ENCLAVE_WALLET_DATA_DIR: run the command in the repository where the local stack ran, or give that file as --root PATH)'
          : ''
      }`,
    );
  }
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(raw.toString('latin1'));
  // The AWS root given as a file is 'aws' (by fingerprint), with the same production policy.
  return trustedRoot(new Uint8Array(pem ? Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64') : raw));
}

export async function verifyAttestationCommand(args: string[], io: Io): Promise<number> {
  let file: string | undefined;
  let root: TrustedRoot = 'aws';
  let at: Date | 'document' | undefined;
  let nonce: Uint8Array | undefined;
  let inspect = false;
  let keyLength = 32;
  const pcrs: Record<number, string> = {};
  for (const { arg, value } of eachArg(args)) {
    if (arg === '--root') root = readRoot(value(), io);
    else if (arg === '--pcr') {
      const m = /^(\d{1,2})=((?:[0-9a-fA-F]{2})+)$/.exec(value());
      if (!m || Number(m[1]) > 31) throw new UsageError('--pcr takes N=HEX with N from 0 to 31');
      pcrs[Number(m[1])] = m[2]!.toLowerCase();
    } else if (arg === '--nonce') {
      const v = value();
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(v)) throw new UsageError('--nonce takes hex');
      nonce = new Uint8Array(Buffer.from(v, 'hex'));
    } else if (arg === '--at') {
      const v = value();
      if (v === 'document') at = 'document';
      else if (v === 'now') at = undefined;
      else {
        const d = new Date(v);
        if (Number.isNaN(d.getTime()) || !/^\d{4}-\d\d-\d\d/.test(v)) throw new UsageError('--at takes document, now or an ISO-8601 time');
        at = d;
      }
    } else if (arg === '--key-length') {
      const v = value();
      if (!/^[1-9]\d{0,3}$/.test(v)) throw new UsageError('--key-length takes a number of bytes, 1 to 9999');
      keyLength = Number(v);
    } else if (arg === '--inspect') inspect = true;
    else if (arg === '--help' || arg === '-h') {
      io.stdout(VERIFY_USAGE);
      return 0;
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else if (file === undefined) file = arg;
    else throw new UsageError('only one FILE may be given');
  }
  if (file === undefined) throw new UsageError('FILE is required');

  let raw: Buffer;
  try {
    raw = file === '-' ? await io.readStdin() : readFileSync(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  // With the AWS root the answer is a decision to trust, so the production policy applies; --inspect (or another root) only looks.
  const production = root === 'aws' && !inspect;
  try {
    if (production && pcrs[0] === undefined)
      throw new AttestationError('EXPECTATIONS_MISSING', 'with --root aws, pin the image with --pcr 0=HEX (or --inspect to only look at the document)');
    // The chain, the signature and each --pcr / --nonce given; a nonce is not required (the document may be a saved one).
    const doc = verifyAttestationDocument(readDocument(raw), { root, at, expectedPcrs: pcrs, expectedNonce: nonce, policy: 'inspect' });
    if (production) checkProductionPolicy(doc, keyLength);
    io.stdout(
      JSON.stringify({
        valid: true,
        moduleId: doc.moduleId,
        timestamp: new Date(doc.timestamp).toISOString(),
        pcrs: Object.fromEntries([...doc.pcrs].map(([k, v]) => [String(k), hex(v)])),
        publicKey: hex(doc.publicKey),
        userData: hex(doc.userData),
        nonce: hex(doc.nonce),
        policy: production ? 'production' : 'inspect',
      }),
    );
    return 0;
  } catch (err) {
    if (!(err instanceof AttestationError)) throw err;
    io.stdout(JSON.stringify({ valid: false, reason: `${err.code}: ${err.message}` }));
    return 1;
  }
}
