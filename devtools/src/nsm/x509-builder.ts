/**
 * Builds the P-384 certificates of the simulated NSM's development CA: DER
 * encoding of just the X.509 v3 structures a Nitro chain uses (CN-only
 * names, validity, EC public key, basicConstraints and keyUsage), signed with
 * ecdsa-with-SHA384. Development only.
 */
import { p384 } from '@noble/curves/nist.js';
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concatBytes(...content);
  return concatBytes(Uint8Array.from([tag, ...len(body.length)]), body);
}

const seq = (...c: Uint8Array[]): Uint8Array => tlv(0x30, ...c);
const oid = (hex: string): Uint8Array => tlv(0x06, Buffer.from(hex, 'hex'));
const utf8 = (s: string): Uint8Array => tlv(0x0c, new TextEncoder().encode(s));

function integer(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && (bytes[i + 1]! & 0x80) === 0) i++;
  const trimmed = bytes.subarray(i);
  return tlv(0x02, (trimmed[0]! & 0x80) !== 0 ? concatBytes(Uint8Array.of(0), trimmed) : trimmed);
}

function time(d: Date): Uint8Array {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const body = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const year = d.getUTCFullYear();
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return year < 2050 ? tlv(0x17, new TextEncoder().encode(`${p(year % 100)}${body}`)) : tlv(0x18, new TextEncoder().encode(`${p(year, 4)}${body}`));
}

const ECDSA_SHA384 = seq(oid('2a8648ce3d040303'));
const name = (cn: string): Uint8Array => seq(tlv(0x31, seq(oid('550403'), utf8(cn))));

export interface CertificateSpec {
  serial: Uint8Array;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** Uncompressed P-384 public key of the subject. */
  publicKey: Uint8Array;
  /** Private key of the issuer (the subject's own for a self-signed root). */
  issuerPrivateKey: Uint8Array;
  /** CA certificates get basicConstraints cA=true (with pathLen when given) and keyCertSign. */
  ca: boolean;
  pathLength?: number;
  /** For tests of verifiers: the keyUsage BIT STRING contents instead of the usual ones (null: no keyUsage), and more raw Extension SEQUENCEs. */
  keyUsageBits?: Uint8Array | null;
  extraExtensions?: Uint8Array[];
  /** For tests of verifiers: the BasicConstraints SEQUENCE's contents instead of the usual ones. */
  basicConstraints?: Uint8Array;
}

/** A raw X.509 Extension (for tests of verifiers): `oidHex` the OID's DER contents, `value` the extnValue contents. */
export function rawExtension(oidHex: string, critical: boolean, value: Uint8Array): Uint8Array {
  return seq(oid(oidHex), ...(critical ? [tlv(0x01, Uint8Array.of(0xff))] : []), tlv(0x04, value));
}

/** DER of a signed certificate. */
export function buildCertificate(spec: CertificateSpec): Uint8Array {
  const spki = seq(seq(oid('2a8648ce3d0201'), oid('2b81040022')), tlv(0x03, Uint8Array.of(0), spec.publicKey));
  const bc = spec.basicConstraints
    ? tlv(0x30, spec.basicConstraints)
    : spec.ca
      ? seq(tlv(0x01, Uint8Array.of(0xff)), ...(spec.pathLength !== undefined ? [integer(Uint8Array.of(spec.pathLength))] : []))
      : seq();
  // keyUsage: keyCertSign|cRLSign for CAs, digitalSignature for the leaf.
  const ku =
    spec.keyUsageBits !== undefined
      ? spec.keyUsageBits && tlv(0x03, spec.keyUsageBits)
      : spec.ca
        ? tlv(0x03, Uint8Array.of(1, 0x06))
        : tlv(0x03, Uint8Array.of(7, 0x80));
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('551d13'), tlv(0x01, Uint8Array.of(0xff)), tlv(0x04, bc)),
      ...(ku ? [seq(oid('551d0f'), tlv(0x01, Uint8Array.of(0xff)), tlv(0x04, ku))] : []),
      ...(spec.extraExtensions ?? []),
    ),
  );
  const tbs = seq(
    tlv(0xa0, integer(Uint8Array.of(2))),
    integer(spec.serial),
    ECDSA_SHA384,
    name(spec.issuer),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spki,
    extensions,
  );
  const signature = p384.sign(tbs, spec.issuerPrivateKey, { prehash: true, format: 'der' });
  return seq(tbs, ECDSA_SHA384, tlv(0x03, Uint8Array.of(0), signature));
}

/** A P-384 key and its certificate. */
export interface IssuedKey {
  privateKey: Uint8Array;
  certificate: Uint8Array;
}

/**
 * Makes a fresh P-384 key and its certificate, valid from a minute ago for
 * `lifetimeMs`, signed by `issuer` (or self-signed when `issuer` is omitted).
 */
export function issueCertificate(options: {
  subject: string;
  issuer?: { name: string; privateKey: Uint8Array };
  lifetimeMs: number;
  ca: boolean;
  pathLength?: number;
  now?: number;
  keyUsageBits?: Uint8Array | null;
  extraExtensions?: Uint8Array[];
  basicConstraints?: Uint8Array;
}): IssuedKey & { notAfter: number } {
  const now = options.now ?? Date.now();
  const privateKey = p384.utils.randomSecretKey();
  const notAfter = now + options.lifetimeMs;
  const certificate = buildCertificate({
    serial: randomBytes(16),
    subject: options.subject,
    issuer: options.issuer?.name ?? options.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(notAfter),
    publicKey: p384.getPublicKey(privateKey, false),
    issuerPrivateKey: options.issuer?.privateKey ?? privateKey,
    ca: options.ca,
    ...(options.pathLength !== undefined ? { pathLength: options.pathLength } : {}),
    ...(options.keyUsageBits !== undefined ? { keyUsageBits: options.keyUsageBits } : {}),
    ...(options.extraExtensions ? { extraExtensions: options.extraExtensions } : {}),
    ...(options.basicConstraints ? { basicConstraints: options.basicConstraints } : {}),
  });
  return { privateKey, certificate, notAfter };
}
