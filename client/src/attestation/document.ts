/**
 * Parsing of AWS Nitro Enclaves attestation documents (docs/attestation.md): the COSE_Sign1 structure and the
 * payload's fields, each checked for its type and size (AWS's syntactic validation), before any check of trust
 * (verify.ts). Runs in browsers and Node (no Node built-ins).
 */
import { CborError, CborTagged, decodeCbor, type CborValue } from './cbor.js';

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
