/**
 * Passkeys (docs/passkeys.md): what the browser and the enclave must compute the same way, defined once for
 * both. Importable alone as `@enclave-wallet/proto/passkey` (no protobuf code comes with it), which is how the
 * browser SDK takes it.
 *
 * - The WebAuthn challenge of an assertion is SHA-256 of the canonical encoding of the envelope's binding
 *   (purpose, user, wallet, network, address, kind, cluster, digest, expiry, nonce): the passkey signs what the
 *   envelope approves, and the enclave recomputes it from the envelope it opened.
 * - The PRF salt is per wallet, so one passkey gives every wallet a different secret.
 * - A registration binds the new credential (its id, COSE algorithm and SPKI public key) through the envelope's
 *   `digest`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex0x } from './bytes.js';

/** The binding an envelope carries besides its factor: the fields a passkey's challenge covers. */
export interface PasskeyBinding {
  purpose: string;
  sub: string;
  walletId?: string | undefined;
  network?: string | undefined;
  address?: string | undefined;
  kind?: string | undefined;
  cluster?: string | undefined;
  digest?: string | undefined;
  /** Unix seconds. */
  exp: number;
  /** 16 bytes, lowercase hex. */
  nonce: string;
}

/** The credential a registration adds: the same fields the envelope's `passkey` object carries. */
export interface PasskeyRegistration {
  /** The credential's raw id. */
  credentialId: Uint8Array;
  /** COSE algorithm: -7 (ES256, P-256), -8 (EdDSA, Ed25519) or -257 (RS256, RSA PKCS#1 v1.5 with SHA-256). */
  algorithm: number;
  /** The public key as SubjectPublicKeyInfo DER (what `AuthenticatorAttestationResponse.getPublicKey()` gives). */
  publicKey: Uint8Array;
}

/** COSE algorithms a passkey slot takes. */
export const PASSKEY_ALGORITHMS = { ES256: -7, EdDSA: -8, RS256: -257 } as const;

const te = new TextEncoder();
const CHALLENGE_LABEL = 'enclave-wallet/passkey-challenge/v1';
const PRF_LABEL = 'enclave-wallet/passkey-prf/v1';
const REGISTRATION_LABEL = 'enclave-wallet/passkey-registration/v1';

/** u16 big-endian length ‖ bytes. */
function field(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 0xffff) throw new RangeError('a passkey binding field is at most 65535 bytes');
  const out = new Uint8Array(2 + bytes.length);
  out[0] = bytes.length >> 8;
  out[1] = bytes.length & 0xff;
  out.set(bytes, 2);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The canonical bytes of a binding: the ASCII label, then `v` ("1"), purpose, sub, walletId, network, address,
 * kind, cluster, digest, exp (decimal) and nonce, each as a u16 big-endian length and its UTF-8 bytes; an absent
 * field is empty (length 0: no present field may be empty). Strings are taken as they are in the envelope (an
 * EVM address as written, not re-cased).
 */
export function passkeyBindingBytes(b: PasskeyBinding): Uint8Array {
  if (!Number.isSafeInteger(b.exp) || b.exp <= 0) throw new RangeError('exp must be Unix seconds');
  const values = [
    '1',
    b.purpose,
    b.sub,
    b.walletId ?? '',
    b.network ?? '',
    b.address ?? '',
    b.kind ?? '',
    b.cluster ?? '',
    b.digest ?? '',
    String(b.exp),
    b.nonce,
  ];
  return concat([te.encode(CHALLENGE_LABEL), ...values.map((v) => field(te.encode(v)))]);
}

/** The WebAuthn challenge of an assertion for this binding: SHA-256 of its canonical bytes (32 bytes). */
export function passkeyChallenge(b: PasskeyBinding): Uint8Array {
  return sha256(passkeyBindingBytes(b));
}

/** The PRF salt (`extensions.prf.eval.first`) of a wallet: SHA-256(label ‖ 0x00 ‖ walletId), 32 bytes. */
export function passkeyPrfSalt(walletId: string): Uint8Array {
  if (!walletId) throw new RangeError('a PRF salt needs the wallet id');
  return sha256(concat([te.encode(PRF_LABEL), Uint8Array.of(0), te.encode(walletId)]));
}

/**
 * The `digest` of an `add-passkey` envelope: SHA-256 of the label, the credential id, the COSE algorithm (i32
 * big-endian) and the SPKI public key (ids and key u16-length-prefixed), as 0x-prefixed lowercase hex.
 */
export function passkeyRegistrationDigest(r: PasskeyRegistration): string {
  const alg = new Uint8Array(4);
  new DataView(alg.buffer).setInt32(0, r.algorithm);
  return toHex0x(sha256(concat([te.encode(REGISTRATION_LABEL), field(r.credentialId), alg, field(r.publicKey)])));
}

/** The `digest` of a `remove-passkey` envelope: SHA-256 of the credential id's raw bytes, 0x-prefixed hex. */
export function passkeyRemovalDigest(credentialId: Uint8Array): string {
  return toHex0x(sha256(credentialId));
}

/** base64url without padding (WebAuthn's encoding of ids, challenges and the envelope's `passkey` fields). */
export function toBase64Url(bytes: Uint8Array): string {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += ALPHABET[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/**
 * Bytes of unpadded base64url text (`-` and `_`, no `=`), given as a string or as its ASCII bytes (the enclave
 * decodes the PRF output without making it a string). @throws {RangeError} anything else
 */
export function fromBase64Url(text: string | Uint8Array): Uint8Array {
  const length = text.length;
  if (length % 4 === 1) throw new RangeError('not base64url');
  const out = new Uint8Array(Math.floor((length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (let i = 0; i < length; i++) {
    const c = typeof text === 'string' ? text.charCodeAt(i) : text[i]!;
    const v =
      c >= 0x41 && c <= 0x5a
        ? c - 0x41
        : c >= 0x61 && c <= 0x7a
          ? c - 0x61 + 26
          : c >= 0x30 && c <= 0x39
            ? c - 0x30 + 52
            : c === 0x2d
              ? 62
              : c === 0x5f
                ? 63
                : -1;
    if (v < 0) {
      out.fill(0);
      throw new RangeError('not base64url');
    }
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  acc = 0;
  return out;
}
