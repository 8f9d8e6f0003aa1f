/**
 * Just enough DER and X.509 to verify a Nitro certificate chain: the signed
 * TBS bytes, the signature, the validity window, the names, the P-384 public
 * key, basicConstraints and keyUsage. Strict: any structure it does not
 * expect is an error, never a guess, and an extension it does not
 * understand that is marked critical makes the certificate unusable
 * (RFC 5280 §4.2). Uses no Node built-ins.
 */
import { toHex } from '../proto-copy/bytes.js';

/** A certificate could not be parsed or is of a kind this verifier refuses. */
export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

interface Tlv {
  tag: number;
  /** Whole element, header included. */
  raw: Uint8Array;
  /** Contents only. */
  value: Uint8Array;
}

function readTlv(bytes: Uint8Array, pos: number): { tlv: Tlv; next: number } {
  if (pos + 2 > bytes.length) throw new CertificateError('truncated DER');
  const tag = bytes[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new CertificateError('multi-byte DER tags are not supported');
  let len = bytes[pos + 1]!;
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3) throw new CertificateError('unsupported DER length');
    if (pos + 2 + n > bytes.length) throw new CertificateError('truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[pos + 2 + i]!;
    if (len < 0x80 || (n > 1 && bytes[pos + 2] === 0)) throw new CertificateError('non-minimal DER length');
    hdr += n;
  }
  const end = pos + hdr + len;
  if (end > bytes.length) throw new CertificateError('DER element runs past its container');
  return { tlv: { tag, raw: bytes.subarray(pos, end), value: bytes.subarray(pos + hdr, end) }, next: end };
}

function children(parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let pos = 0;
  while (pos < parent.value.length) {
    const { tlv, next } = readTlv(parent.value, pos);
    out.push(tlv);
    pos = next;
  }
  return out;
}

function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw new CertificateError(`expected ${what}`);
  return tlv;
}

/** DER of the OIDs this verifier knows. */
const OID = {
  ecdsaWithSha384: '2a8648ce3d040303',
  ecPublicKey: '2a8648ce3d0201',
  secp384r1: '2b81040022',
  basicConstraints: '551d13',
  keyUsage: '551d0f',
  subjectKeyIdentifier: '551d0e',
  authorityKeyIdentifier: '551d23',
};

/** Extensions whose meaning this verifier knows (RFC 5280 §4.2); any other one marked critical is refused. */
const UNDERSTOOD_EXTENSIONS = new Set([OID.basicConstraints, OID.keyUsage, OID.subjectKeyIdentifier, OID.authorityKeyIdentifier]);

/** keyUsage bits (RFC 5280 §4.2.1.3) the chain check reads. */
export interface KeyUsage {
  digitalSignature: boolean;
  keyCertSign: boolean;
}

/** A DER BIT STRING's bit `n` (bit 0 is the most significant bit of the first byte after the unused-bits count). */
function bitSet(bits: Uint8Array, n: number): boolean {
  const byte = bits[1 + (n >> 3)];
  return byte !== undefined && (byte & (0x80 >> (n & 7))) !== 0;
}

function parseTime(tlv: Tlv): Date {
  const text = new TextDecoder().decode(tlv.value);
  let m: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === 0x17 && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    year = Number(m[1]);
    year += year < 50 ? 2000 : 1900;
  } else if (tlv.tag === 0x18 && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text))) {
    year = Number(m[1]);
  } else {
    throw new CertificateError(`unsupported time ${JSON.stringify(text)}`);
  }
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** The parts of a certificate the chain check needs. */
export interface Certificate {
  /** The whole DER encoding. */
  readonly der: Uint8Array;
  /** The signed part. */
  readonly tbs: Uint8Array;
  /** The issuer's signature over `tbs` (DER ECDSA-Sig-Value). */
  readonly signature: Uint8Array;
  /** DER of the issuer and subject names (compared byte for byte). */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Uncompressed P-384 public key (97 bytes). */
  readonly publicKey: Uint8Array;
  /** basicConstraints cA, false when absent. */
  readonly isCa: boolean;
  /** basicConstraints pathLenConstraint, undefined when absent. */
  readonly pathLength: number | undefined;
  /** keyUsage, undefined when absent (then any usage is allowed, RFC 5280 §4.2.1.3). */
  readonly keyUsage: KeyUsage | undefined;
}

/**
 * Parses a DER certificate signed with ecdsa-with-SHA384 over a P-384 key.
 *
 * @throws {CertificateError} for anything else or anything malformed
 */
export function parseCertificate(der: Uint8Array): Certificate {
  const { tlv: cert, next } = readTlv(der, 0);
  if (next !== der.length) throw new CertificateError('trailing bytes after the certificate');
  const [tbsTlv, sigAlg, sigValue, ...rest] = children(expectTag(cert, 0x30, 'Certificate SEQUENCE'));
  if (rest.length) throw new CertificateError('unexpected fields in Certificate');
  expectTag(tbsTlv, 0x30, 'TBSCertificate');
  const alg = children(expectTag(sigAlg, 0x30, 'signatureAlgorithm'));
  if (toHex(expectTag(alg[0], 0x06, 'algorithm OID').value) !== OID.ecdsaWithSha384) throw new CertificateError('signature algorithm is not ecdsa-with-SHA384');
  const bits = expectTag(sigValue, 0x03, 'signatureValue BIT STRING').value;
  if (bits[0] !== 0) throw new CertificateError('signature BIT STRING has unused bits');

  const tbs = children(tbsTlv!);
  let i = 0;
  if (tbs[0]?.tag === 0xa0) i++; // version
  expectTag(tbs[i++], 0x02, 'serialNumber');
  const innerAlg = children(expectTag(tbs[i++], 0x30, 'TBS signature algorithm'));
  if (toHex(expectTag(innerAlg[0], 0x06, 'OID').value) !== OID.ecdsaWithSha384) throw new CertificateError('TBS signature algorithm differs');
  const issuer = expectTag(tbs[i++], 0x30, 'issuer Name').raw;
  const validity = children(expectTag(tbs[i++], 0x30, 'validity'));
  if (validity.length !== 2) throw new CertificateError('validity must have two times');
  const subject = expectTag(tbs[i++], 0x30, 'subject Name').raw;
  const publicKey = parseP384Key(tbs[i++]);
  // issuerUniqueID / subjectUniqueID are ignored; extensions are [3].
  const extensions = parseExtensions(tbs.slice(i).filter((field) => field.tag === 0xa3));

  return {
    der,
    tbs: tbsTlv!.raw,
    signature: bits.subarray(1),
    issuer,
    subject,
    notBefore: parseTime(validity[0]!),
    notAfter: parseTime(validity[1]!),
    publicKey,
    ...extensions,
  };
}

/** subjectPublicKeyInfo: a P-384 key, returned as its uncompressed SEC1 point (0x04 ‖ x ‖ y). */
function parseP384Key(field: Tlv | undefined): Uint8Array {
  const spki = children(expectTag(field, 0x30, 'subjectPublicKeyInfo'));
  const keyAlg = children(expectTag(spki[0], 0x30, 'key algorithm'));
  if (toHex(expectTag(keyAlg[0], 0x06, 'key OID').value) !== OID.ecPublicKey) throw new CertificateError('key is not an EC public key');
  if (toHex(expectTag(keyAlg[1], 0x06, 'curve OID').value) !== OID.secp384r1) throw new CertificateError('key is not on P-384');
  const keyBits = expectTag(spki[1], 0x03, 'subjectPublicKey').value;
  if (keyBits[0] !== 0 || keyBits.length !== 98 || keyBits[1] !== 0x04) throw new CertificateError('P-384 key must be an uncompressed point');
  return keyBits.subarray(1);
}

type ExtensionFields = Pick<Certificate, 'isCa' | 'pathLength' | 'keyUsage'>;

/** The [3] Extensions fields: basicConstraints and keyUsage read, other non-critical ones skipped, a critical unknown one refused. */
function parseExtensions(wrappers: readonly Tlv[]): ExtensionFields {
  const fields: { -readonly [K in keyof ExtensionFields]: ExtensionFields[K] } = { isCa: false, pathLength: undefined, keyUsage: undefined };
  const seen = new Set<string>();
  for (const wrapper of wrappers) {
    const [exts] = children(wrapper);
    for (const ext of children(expectTag(exts, 0x30, 'Extensions'))) {
      const { id, critical, value } = parseExtension(ext);
      if (seen.has(id)) throw new CertificateError(`extension ${id} appears twice`);
      seen.add(id);
      if (!UNDERSTOOD_EXTENSIONS.has(id)) {
        if (critical) throw new CertificateError(`unknown critical extension ${id}`);
      } else if (id === OID.basicConstraints) {
        Object.assign(fields, parseBasicConstraints(value));
      } else if (id === OID.keyUsage) {
        fields.keyUsage = parseKeyUsage(value);
      }
    }
  }
  return fields;
}

/** Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function parseExtension(ext: Tlv): { id: string; critical: boolean; value: Uint8Array } {
  const parts = children(expectTag(ext, 0x30, 'Extension'));
  const id = toHex(expectTag(parts[0], 0x06, 'extnID').value);
  let critical = false;
  if (parts.length === 3) {
    const flag = expectTag(parts[1], 0x01, 'critical BOOLEAN').value;
    if (flag.length !== 1 || (flag[0] !== 0 && flag[0] !== 0xff)) throw new CertificateError('critical must be a DER BOOLEAN');
    critical = flag[0] === 0xff;
  } else if (parts.length !== 2) {
    throw new CertificateError('an Extension has two or three fields');
  }
  const octets = expectTag(parts[parts.length - 1], 0x04, 'extnValue');
  return { id, critical, value: octets.value };
}

function parseBasicConstraints(value: Uint8Array): { isCa: boolean; pathLength: number | undefined } {
  const { tlv, next } = readTlv(value, 0);
  if (next !== value.length) throw new CertificateError('trailing bytes in basicConstraints');
  let isCa = false;
  let pathLength: number | undefined;
  for (const field of children(expectTag(tlv, 0x30, 'BasicConstraints'))) {
    if (field.tag === 0x01) {
      // DER: one content byte, 0x00 or 0xff. An empty BOOLEAN is not `true` (nor anything else).
      if (field.value.length !== 1 || (field.value[0] !== 0 && field.value[0] !== 0xff)) throw new CertificateError('cA must be a DER BOOLEAN');
      isCa = field.value[0] === 0xff;
    } else if (field.tag === 0x02) pathLength = field.value.reduce((n, b) => n * 256 + b, 0);
    else throw new CertificateError('unexpected field in basicConstraints');
  }
  return { isCa, pathLength };
}

function parseKeyUsage(value: Uint8Array): KeyUsage {
  const { tlv, next } = readTlv(value, 0);
  if (next !== value.length) throw new CertificateError('trailing bytes in keyUsage');
  const bits = expectTag(tlv, 0x03, 'keyUsage BIT STRING').value;
  if (bits.length < 2 || bits[0]! > 7) throw new CertificateError('keyUsage must name at least one usage');
  return { digitalSignature: bitSet(bits, 0), keyCertSign: bitSet(bits, 5) };
}
