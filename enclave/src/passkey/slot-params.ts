/**
 * A passkey slot's parameters (slot kind 3, docs/passkeys.md): what the enclave needs to check an assertion,
 * kept in the slot's `params` and so in its AAD (a slot whose key, RP id or origins were edited does not
 * unwrap). All integers big-endian:
 *
 *   credentialId  bytes16  the credential's raw id (1 to 255 bytes)
 *   algorithm     i32      COSE: -7 ES256 (P-256), -8 EdDSA (Ed25519), -257 RS256 (RSA PKCS#1 v1.5, SHA-256)
 *   publicKey     bytes16  SubjectPublicKeyInfo DER
 *   rpId          str16
 *   origins       u8 count (1 to 8), then str16 each
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';

export interface PasskeyParams {
  credentialId: Uint8Array;
  algorithm: number;
  publicKey: Uint8Array;
  rpId: string;
  origins: readonly string[];
}

export const MAX_CREDENTIAL_ID_BYTES = 255;
const MAX_ORIGINS = 8;
const te = new TextEncoder();
const bad = (why: string): EnclaveWalletError => new EnclaveWalletError('BLOB_INVALID', `the sealed blob is not readable: ${why}`);

export function encodePasskeyParams(p: PasskeyParams): Uint8Array {
  const parts: Uint8Array[] = [];
  const u16 = (n: number): Uint8Array => Uint8Array.of(n >> 8, n & 0xff);
  const bytes16 = (b: Uint8Array): void => void parts.push(u16(b.length), b);
  const alg = new Uint8Array(4);
  new DataView(alg.buffer).setInt32(0, p.algorithm);
  bytes16(p.credentialId);
  parts.push(alg);
  bytes16(p.publicKey);
  bytes16(te.encode(p.rpId));
  parts.push(Uint8Array.of(p.origins.length));
  for (const o of p.origins) bytes16(te.encode(o));
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

export function decodePasskeyParams(params: Uint8Array): PasskeyParams {
  const view = new DataView(params.buffer, params.byteOffset, params.byteLength);
  let at = 0;
  const need = (n: number): void => {
    if (at + n > params.length) throw bad('passkey slot parameters are truncated');
  };
  const bytes16 = (): Uint8Array => {
    need(2);
    const n = view.getUint16(at);
    at += 2;
    need(n);
    const out = params.slice(at, at + n);
    at += n;
    return out;
  };
  const str16 = (): string => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes16());
    } catch (err) {
      if (err instanceof EnclaveWalletError) throw err;
      throw bad('a passkey slot string is not UTF-8');
    }
  };
  const credentialId = bytes16();
  need(4);
  const algorithm = view.getInt32(at);
  at += 4;
  const publicKey = bytes16();
  const rpId = str16();
  need(1);
  const count = params[at++]!;
  const origins: string[] = [];
  for (let i = 0; i < count; i++) origins.push(str16());
  if (at !== params.length) throw bad('passkey slot parameters have the wrong length');
  if (credentialId.length < 1 || credentialId.length > MAX_CREDENTIAL_ID_BYTES) throw bad('a passkey credential id is 1 to 255 bytes');
  if (count < 1 || count > MAX_ORIGINS || !rpId) throw bad('a passkey slot names its RP id and 1 to 8 origins');
  return { credentialId, algorithm, publicKey, rpId, origins };
}
