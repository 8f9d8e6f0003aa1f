/**
 * Verification of AWS Nitro Enclaves attestation documents, following AWS's
 * published process: the COSE_Sign1 structure and payload fields, the
 * certificate chain from a pinned root to the signing certificate (names,
 * signatures, CA flags, path lengths, validity at a chosen time), the ES384
 * signature over the COSE Sig_structure, then the expected PCRs and nonce.
 * See docs/attestation.md. Runs in browsers and Node (no Node built-ins).
 */
import { equalBytes, fromHex, toHex } from '../proto-copy/bytes.js';
import { p384 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CborError, CborTagged, decodeCbor, encodeCbor, type CborValue } from './cbor.js';
import { CertificateError, parseCertificate, type Certificate } from './x509.js';

/** SHA-256 fingerprint of the AWS Nitro Enclaves root certificate (G1). */
export const AWS_NITRO_ROOT_G1_SHA256 = '641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b';

/** COSE algorithm id of ECDSA P-384 with SHA-384. */
const COSE_ES384 = -35;
/** COSE_Sign1 CBOR tag (Nitro sends the untagged form; both are accepted). */
const COSE_SIGN1_TAG = 18;

/** Why a document was refused. */
export type AttestationErrorCode =
  | 'MALFORMED'
  | 'UNTRUSTED_ROOT'
  | 'BAD_CHAIN'
  | 'NOT_VALID_AT_TIME'
  | 'BAD_SIGNATURE'
  | 'PCR_MISMATCH'
  | 'NONCE_MISMATCH'
  /** Production policy: no expected PCR0 or no expected nonce was given, so the document could prove nothing. */
  | 'EXPECTATIONS_MISSING'
  /** Production policy: the PCRs are all zero, as in an enclave started in debug mode. */
  | 'DEBUG_ENCLAVE'
  /** Production policy: the document's public key is absent or not of the expected length. */
  | 'PUBLIC_KEY_INVALID';

/** The document failed verification; `code` says at which step. */
export class AttestationError extends Error {
  override readonly name = 'AttestationError';
  constructor(
    readonly code: AttestationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The verified content of an attestation document. */
export interface AttestationDocument {
  moduleId: string;
  digest: string;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  /** PCR index → value. */
  pcrs: Map<number, Uint8Array>;
  certificate: Uint8Array;
  cabundle: Uint8Array[];
  publicKey: Uint8Array | undefined;
  userData: Uint8Array | undefined;
  nonce: Uint8Array | undefined;
}

/**
 * The trust anchor: 'aws' pins the AWS Nitro root G1 by fingerprint; bytes pin that exact DER certificate;
 * `{ sha256 }` pins the root certificate whose SHA-256 (of its DER) is that hex fingerprint: the chain's first
 * certificate, which the document carries, must hash to it. The fingerprint form is how an app outside this
 * repository pins the local stack's dev root: `npm start` prints it (docs/attestation.md). A root, in any form, is
 * the app's own constant: the SDK never takes one from the host it checks (see client/README.md).
 * The AWS root given as bytes or by its fingerprint is 'aws', with its rules (see `trustedRoot`).
 */
export type TrustedRoot = 'aws' | Uint8Array | RootFingerprint;

/** A root pinned by the SHA-256 of its DER certificate: 64 hex digits (colons allowed, as `openssl x509 -fingerprint` prints). */
export interface RootFingerprint {
  sha256: string;
}

/** The lowercase 64-digit hex of a fingerprint. @throws {TypeError} when it is not 32 bytes of hex */
function fingerprintHex(root: RootFingerprint): string {
  const hex = typeof root.sha256 === 'string' ? root.sha256.replace(/:/g, '').toLowerCase() : '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError('root { sha256 } must be the SHA-256 of the root certificate: 64 hex digits');
  return hex;
}

/** Whether `root` is the AWS Nitro root G1: 'aws', or DER bytes or a fingerprint that are its fingerprint. */
export function isAwsNitroRoot(root: TrustedRoot): boolean {
  if (root === 'aws') return true;
  return (root instanceof Uint8Array ? toHex(sha256(root)) : fingerprintHex(root)) === AWS_NITRO_ROOT_G1_SHA256;
}

/**
 * The root as the verifier treats it: the AWS Nitro root G1 given as bytes or by its fingerprint is 'aws', so that
 * it gets exactly the AWS rules (the production policy by default, PCR0 required by the SDK) and cannot switch them
 * off. A fingerprint comes back normalised (lowercase, no colons).
 * @throws {TypeError} for a fingerprint that is not 64 hex digits
 */
export function trustedRoot(root: TrustedRoot): TrustedRoot {
  if (root === 'aws' || isAwsNitroRoot(root)) return 'aws';
  return root instanceof Uint8Array ? root : { sha256: fingerprintHex(root) };
}

export interface VerifyOptions {
  root: TrustedRoot;
  /** When certificates must be valid: a date, or 'document' for the document's own timestamp. Default: now. */
  at?: Date | 'document';
  /** PCRs that must match exactly (index → bytes or hex). */
  expectedPcrs?: Record<number, Uint8Array | string>;
  /** The nonce the document must carry. */
  expectedNonce?: Uint8Array;
  /**
   * `production` (the default with root `aws`): the caller must pin PCR0 and
   * give a nonce, a document with all-zero PCRs (debug mode) is refused, and
   * the public key must be present with `publicKeyLength` bytes. `inspect`
   * (the default with a pinned DER root or fingerprint): only the chain, signature and what
   * was asked for are checked, to look at a document, not to trust it.
   */
  policy?: 'production' | 'inspect';
  /** Production policy: the public key's length (default 32, an X25519 envelope key). */
  publicKeyLength?: number;
}

function bstr(value: CborValue, field: string, min: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new AttestationError('MALFORMED', `${field} must be a byte string`);
  if (value.length < min || value.length > max) throw new AttestationError('MALFORMED', `${field} must be ${min} to ${max} bytes`);
  return value;
}

/** An optional byte string: absent or null means not present. */
function optionalBstr(value: CborValue, field: string, max: number): Uint8Array | undefined {
  if (value === undefined || value === null) return undefined;
  return bstr(value, field, 0, max);
}

/** The parts of a COSE_Sign1 attestation document, before any check of trust. */
export interface ParsedDocument {
  protectedHeader: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
  document: AttestationDocument;
}

/**
 * Parses a COSE_Sign1 attestation document and checks the shape of every
 * field (AWS's syntactic validation), without checking trust.
 *
 * @throws {AttestationError} MALFORMED
 */
export function parseAttestationDocument(bytes: Uint8Array): ParsedDocument {
  const { protectedHeader, payload, signature } = parseCoseSign1(bytes);
  let header: CborValue;
  let body: CborValue;
  try {
    header = decodeCbor(protectedHeader);
    body = decodeCbor(payload);
  } catch (err) {
    throw new AttestationError('MALFORMED', `bad CBOR inside COSE_Sign1: ${(err as CborError).message}`);
  }
  if (!(header instanceof Map) || header.get(1) !== COSE_ES384) throw new AttestationError('MALFORMED', 'protected header must name ES384 (alg -35)');
  if (signature.length !== 96) throw new AttestationError('MALFORMED', 'ES384 signature must be 96 bytes (r‖s)');
  if (!(body instanceof Map)) throw new AttestationError('MALFORMED', 'payload must be a map');
  return { protectedHeader, payload, signature, document: parsePayload(body) };
}

/** COSE_Sign1 (RFC 9052 §4.2), tagged or not: its three byte-string members, the unprotected header being a map. */
function parseCoseSign1(bytes: Uint8Array): Omit<ParsedDocument, 'document'> {
  let outer: CborValue;
  try {
    outer = decodeCbor(bytes);
  } catch (err) {
    throw new AttestationError('MALFORMED', `not CBOR: ${(err as Error).message}`);
  }
  if (outer instanceof CborTagged) {
    if (outer.tag !== COSE_SIGN1_TAG) throw new AttestationError('MALFORMED', `unexpected CBOR tag ${outer.tag}`);
    outer = outer.value;
  }
  if (!Array.isArray(outer) || outer.length !== 4) throw new AttestationError('MALFORMED', 'not a COSE_Sign1 array of four items');
  const [protectedHeader, unprotectedHeader, payload, signature] = outer;
  if (!(protectedHeader instanceof Uint8Array) || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    throw new AttestationError('MALFORMED', 'COSE_Sign1 members have the wrong types');
  }
  if (!(unprotectedHeader instanceof Map)) throw new AttestationError('MALFORMED', 'unprotected header must be a map');
  return { protectedHeader, payload, signature };
}

/** The attestation document's fields, each checked for its type and size (AWS's syntactic validation). */
function parsePayload(body: Map<CborValue, CborValue>): AttestationDocument {
  const moduleId = body.get('module_id');
  if (typeof moduleId !== 'string' || moduleId.length === 0) throw new AttestationError('MALFORMED', 'module_id must be a non-empty text string');
  const digest = body.get('digest');
  if (digest !== 'SHA384') throw new AttestationError('MALFORMED', 'digest must be "SHA384"');
  const timestamp = body.get('timestamp');
  if (typeof timestamp !== 'number' || !Number.isInteger(timestamp) || timestamp <= 0)
    throw new AttestationError('MALFORMED', 'timestamp must be a positive integer');
  const pcrs = parsePcrs(body.get('pcrs'));
  const certificate = bstr(body.get('certificate'), 'certificate', 1, 1024);
  const rawBundle = body.get('cabundle');
  if (!Array.isArray(rawBundle) || rawBundle.length === 0) throw new AttestationError('MALFORMED', 'cabundle must be a non-empty array');
  const cabundle = rawBundle.map((c, i) => bstr(c, `cabundle[${i}]`, 1, 1024));
  return {
    moduleId,
    digest,
    timestamp,
    pcrs,
    certificate,
    cabundle,
    publicKey: optionalBstr(body.get('public_key'), 'public_key', 1024),
    userData: optionalBstr(body.get('user_data'), 'user_data', 512),
    nonce: optionalBstr(body.get('nonce'), 'nonce', 512),
  };
}

function parsePcrs(rawPcrs: CborValue): Map<number, Uint8Array> {
  if (!(rawPcrs instanceof Map) || rawPcrs.size < 1 || rawPcrs.size > 32) throw new AttestationError('MALFORMED', 'pcrs must be a map of 1 to 32 entries');
  const pcrs = new Map<number, Uint8Array>();
  for (const [k, v] of rawPcrs) {
    if (typeof k !== 'number' || k < 0 || k > 31) throw new AttestationError('MALFORMED', 'PCR index must be 0 to 31');
    if (!(v instanceof Uint8Array) || ![32, 48, 64].includes(v.length)) throw new AttestationError('MALFORMED', `PCR${k} must be 32, 48 or 64 bytes`);
    pcrs.set(k, v);
  }
  return pcrs;
}

function verifyChain(chain: Certificate[], at: Date): void {
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    if (at < cert.notBefore || at > cert.notAfter) {
      throw new AttestationError(
        'NOT_VALID_AT_TIME',
        `certificate ${i} is valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}, not at ${at.toISOString()}`,
      );
    }
    if (i === 0) continue;
    const issuer = chain[i - 1]!;
    if (!issuer.isCa) throw new AttestationError('BAD_CHAIN', `certificate ${i - 1} is not a CA but issued certificate ${i}`);
    // keyUsage, where present, must allow what each certificate does: CAs sign certificates, the leaf signs the document.
    if (issuer.keyUsage && !issuer.keyUsage.keyCertSign)
      throw new AttestationError('BAD_CHAIN', `certificate ${i - 1} is a CA whose keyUsage does not allow signing certificates`);
    if (!equalBytes(cert.issuer, issuer.subject)) throw new AttestationError('BAD_CHAIN', `certificate ${i} names another issuer than certificate ${i - 1}`);
    if (!p384.verify(cert.signature, cert.tbs, issuer.publicKey, { prehash: true, format: 'der', lowS: false })) {
      throw new AttestationError('BAD_CHAIN', `certificate ${i} is not signed by certificate ${i - 1}`);
    }
  }
  const leaf = chain[chain.length - 1];
  // The document is signed by an end-entity certificate: one that may issue certificates is not a signing leaf.
  if (chain.length > 1 && leaf?.isCa) throw new AttestationError('BAD_CHAIN', 'the signing certificate is a CA (basicConstraints cA), not an end entity');
  if (leaf?.keyUsage && !leaf.keyUsage.digitalSignature)
    throw new AttestationError('BAD_CHAIN', 'the signing certificate’s keyUsage does not allow digital signatures');
  // pathLenConstraint: the number of CA certificates below a CA (the leaf excluded) may not exceed it.
  for (let i = 0; i < chain.length - 1; i++) {
    const limit = chain[i]!.pathLength;
    const below = chain.length - 2 - i;
    if (limit !== undefined && below > limit)
      throw new AttestationError('BAD_CHAIN', `certificate ${i} allows ${limit} intermediate CAs below it, the chain has ${below}`);
  }
}

/**
 * Verifies an attestation document and returns its content.
 *
 * @throws {AttestationError} naming the step that failed
 * @example
 * const doc = verifyAttestationDocument(bytes, { root: 'aws', at: 'document', expectedNonce });
 */
export function verifyAttestationDocument(bytes: Uint8Array, options: VerifyOptions): AttestationDocument {
  const pinnedRoot = trustedRoot(options.root);
  const production = (options.policy ?? (pinnedRoot === 'aws' ? 'production' : 'inspect')) === 'production';
  if (production && (options.expectedPcrs?.[0] === undefined || !options.expectedNonce)) {
    throw new AttestationError(
      'EXPECTATIONS_MISSING',
      'a production check needs the expected PCR0 and a fresh nonce (or policy: inspect to only look at a document)',
    );
  }
  const parsed = parseAttestationDocument(bytes);
  const { document } = parsed;

  let chain: Certificate[];
  try {
    chain = [...document.cabundle, document.certificate].map(parseCertificate);
  } catch (err) {
    if (err instanceof CertificateError) throw new AttestationError('MALFORMED', `bad certificate: ${err.message}`);
    throw err;
  }
  const root = chain[0]!;
  if (pinnedRoot === 'aws') {
    if (toHex(sha256(root.der)) !== AWS_NITRO_ROOT_G1_SHA256) throw new AttestationError('UNTRUSTED_ROOT', 'the chain does not start at the AWS Nitro root G1');
  } else if (pinnedRoot instanceof Uint8Array ? !equalBytes(root.der, pinnedRoot) : toHex(sha256(root.der)) !== (pinnedRoot as RootFingerprint).sha256) {
    throw new AttestationError('UNTRUSTED_ROOT', 'the chain does not start at the pinned root certificate');
  }
  const at = options.at === 'document' ? new Date(document.timestamp) : (options.at ?? new Date());
  verifyChain(chain, at);

  const sigStructure = encodeCbor(['Signature1', parsed.protectedHeader, new Uint8Array(0), parsed.payload]);
  const leaf = chain[chain.length - 1]!;
  if (!p384.verify(parsed.signature, sigStructure, leaf.publicKey, { prehash: true, format: 'compact', lowS: false })) {
    throw new AttestationError('BAD_SIGNATURE', 'the COSE signature does not verify with the document certificate');
  }

  for (const [index, expected] of Object.entries(options.expectedPcrs ?? {})) {
    const want = typeof expected === 'string' ? fromHex(expected) : expected;
    const got = document.pcrs.get(Number(index));
    if (!got || !equalBytes(got, want)) throw new AttestationError('PCR_MISMATCH', `PCR${index} is ${got ? toHex(got) : 'absent'}, expected ${toHex(want)}`);
  }
  if (options.expectedNonce && (!document.nonce || !equalBytes(document.nonce, options.expectedNonce))) {
    throw new AttestationError('NONCE_MISMATCH', 'the document does not carry the expected nonce');
  }
  if (production) {
    const pcr0 = document.pcrs.get(0);
    if (!pcr0 || pcr0.every((b) => b === 0))
      throw new AttestationError('DEBUG_ENCLAVE', 'PCR0 is all zeros: the enclave runs in debug mode, and its memory is readable by the host');
    const length = options.publicKeyLength ?? 32;
    if (!document.publicKey || document.publicKey.length !== length)
      throw new AttestationError('PUBLIC_KEY_INVALID', `the document's public key must be ${length} bytes`);
  }
  return document;
}
