/**
 * ECDSA over secp256k1, for every EVM signature: signed by libsecp256k1 (tiny-secp256k1's WebAssembly build of it,
 * pinned), checked by a second implementation before it leaves (selfCheck).
 *
 * Why two: libsecp256k1 is the most reviewed secp256k1 code there is and ≈ 6× faster here than noble's JavaScript
 * (docs/performance.md), but it arrives as a prebuilt WebAssembly module. WebAssembly cannot reach the system (its
 * only imports are a random source and an error callback), so what it could do wrong is compute: a faulty signature
 * (a flipped bit gives out the key) or a valid one with a chosen nonce (a covert channel for the key). The check
 * recomputes the whole signature by RFC 6979 itself — the nonce with node:crypto's HMAC, R = k·G by point.ts,
 * s by modular arithmetic (scalar.ts: in WebAssembly of our own, so that neither the key nor the nonce becomes a
 * JavaScript BigInt or hex string, left in freed memory) — and the signature leaves only if it is exactly that one
 * (r, low s, recovery bit).
 */
import { createHmac } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { numberToBytesBE } from '@noble/curves/utils.js';
import { signRecoverable } from 'tiny-secp256k1';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { SecretBytes } from '../secret.js';
import { multiplyBase } from './point.js';
import { slot, withScalars } from './scalar.js';

/** Where the self-check's numbers go in scalar.ts's memory (ZERO is never written). */
const [D, K, R, S, Z, E, KS, NEG_E, ZERO] = [slot(0), slot(1), slot(2), slot(3), slot(4), slot(5), slot(6), slot(7), slot(8)] as const;

const Fn = secp256k1.Point.Fn;
const N = Fn.ORDER;
const HALF_N = N >> 1n;

/** 65-byte r‖s‖v (v = 27 + recovery bit, s low) over a 32-byte digest, RFC 6979's deterministic nonce. */
export function signSecp256k1(digest: Uint8Array, privateKey: Uint8Array): Uint8Array {
  const { signature, recoveryId } = signRecoverable(digest, privateKey);
  const out = new Uint8Array(65);
  out.set(signature, 0);
  signature.fill(0);
  out[64] = 27 + recoveryId;
  try {
    selfCheck(out, digest, privateKey);
  } catch (err) {
    out.fill(0); // a faulty signature with a valid one of the same digest gives the key away: not left in memory
    throw err;
  }
  return out;
}

/**
 * Throws INTERNAL_ERROR unless `signature` (r‖s‖27+v) is the RFC 6979 signature of `privateKey` over `digest`:
 * r the x of k·G (mod n), s = k⁻¹(z + r·d) made low, v the parity of k·G's y (flipped with s) plus 2 when x ≥ n.
 * A valid signature is not enough: one with another nonce, or with the high s, is refused too.
 *
 * s is checked without an inverse: s·k ≡ z + r·d (mod n) for the low s as computed, s·k ≡ −(z + r·d) when it
 * was negated to be low (then the recovery bit flips). Both sides are the same check as s = ±k⁻¹(z + r·d), k
 * being invertible (1 ≤ k < n, n prime).
 */
export function selfCheck(signature: Uint8Array, digest: Uint8Array, privateKey: Uint8Array): void {
  const fail = (): never => {
    throw new EnclaveWalletError('INTERNAL_ERROR', 'signature self-check failed');
  };
  if (signature.length !== 65 || digest.length !== 32 || privateKey.length !== 32) fail();
  // r, s, the digest and R = k·G are public (r and s leave with the signature): plain BigInts. The key and the nonce
  // are not: their arithmetic is scalar.ts's, in WebAssembly memory zeroed after it.
  const r = bigIntOf(signature.subarray(0, 32));
  const s = bigIntOf(signature.subarray(32, 64));
  const recovery = signature[64]! - 27;
  if (!withScalars((m) => (m.set(D, privateKey), m.lessThanN(D) && !m.isZero(D)))) fail();
  const z = bigIntOf(digest) % N;
  using nonce = rfc6979Nonce(privateKey, numberToBytesBE(z, 32));
  const point = multiplyBase(nonce); // 04 ‖ x ‖ y
  const x = bigIntOf(point.subarray(1, 33));
  const expectedR = x % N;
  // e = z + r·d (mod n), the k·s of the s before it is made low: s·k = e as computed, or n − e when s was negated.
  const { eIsZero, plain, negated } = withScalars((m) => {
    m.set(D, privateKey);
    m.set(K, nonce);
    m.set(R, signature.subarray(0, 32));
    m.set(S, signature.subarray(32, 64));
    m.set(Z, digest);
    m.mulAdd(E, R, D, Z);
    m.mulAdd(KS, K, S, ZERO);
    m.negate(NEG_E, E);
    return { eIsZero: m.isZero(E), plain: m.equal(KS, E), negated: m.equal(KS, NEG_E) };
  });
  if (!plain && !negated) fail();
  const expectedRecovery = ((x >= N ? 2 : 0) | (point[64]! & 1)) ^ (plain ? 0 : 1);
  if (expectedR === 0n || eIsZero || s === 0n || s > HALF_N || r !== expectedR || recovery !== expectedRecovery) fail();
}

/** A public big-endian unsigned integer of at most 32 bytes (natively to hex, then BigInt): never a secret. */
const bigIntOf = (bytes: Uint8Array): bigint => BigInt('0x' + (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') || '0'));

/**
 * RFC 6979 §3.2's k for secp256k1 with HMAC-SHA-256 and no extra data: `x` the private key (32 bytes), `h1` the
 * digest reduced mod n (bits2octets). The returned bytes are the caller's to dispose.
 */
export function rfc6979Nonce(x: Uint8Array, h1: Uint8Array): SecretBytes {
  const mac = (key: Uint8Array, ...parts: Uint8Array[]): Buffer => {
    const h = createHmac('sha256', key);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  let v: Buffer = Buffer.alloc(32, 1);
  let key: Buffer = Buffer.alloc(32, 0);
  const step = (separator: number): void => {
    const nextKey = mac(key, v, Uint8Array.of(separator), x, h1);
    key.fill(0);
    key = nextKey;
    const nextV = mac(key, v);
    v.fill(0);
    v = nextV;
  };
  try {
    step(0x00);
    step(0x01);
    for (;;) {
      const t = mac(key, v);
      v.fill(0);
      v = t;
      // 1 ≤ k < n, compared in scalar.ts: k never becomes a BigInt.
      if (withScalars((m) => (m.set(D, v), m.lessThanN(D) && !m.isZero(D)))) return SecretBytes.copyOf(v);
      const nextKey = mac(key, v, Uint8Array.of(0x00));
      key.fill(0);
      key = nextKey;
      const nextV = mac(key, v);
      v.fill(0);
      v = nextV;
    }
  } finally {
    v.fill(0);
    key.fill(0);
  }
}
