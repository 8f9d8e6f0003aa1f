/**
 * HPKE (RFC 9180) base mode for the client, written from the RFC with @noble
 * primitives (no Node built-ins), for the suite of SPEC §6:
 * DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305. It shares no
 * code with the enclave's implementation (enclave/src/envelope/hpke.ts, on
 * node:crypto's X25519 and ChaCha20-Poly1305), so tests that seal with it and
 * open in the enclave (and the reverse) check one against the other; it is
 * also checked against RFC 9180 A.2.1. hpkeSenderAsync, which the SDK's calls
 * use (through envelope.ts), does the X25519 steps in the platform's WebCrypto
 * where it has them (on Node, OpenSSL's, as the enclave's), the rest here; a
 * sender context is made apart from the message it seals, so it can be made
 * ahead.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';

const te = new TextEncoder();
const i2osp = (n: number, len: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => (n >> (8 * (len - 1 - i))) & 0xff);

const KEM_ID = 0x0020;
const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const KEM_SUITE = concatBytes(te.encode('KEM'), i2osp(KEM_ID, 2));
const HPKE_SUITE = concatBytes(te.encode('HPKE'), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(AEAD_ID, 2));
const V1 = te.encode('HPKE-v1');

const labeledExtract = (suite: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array =>
  extract(sha256, concatBytes(V1, suite, te.encode(label), ikm), salt);
const labeledExpand = (suite: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array =>
  expand(sha256, prk, concatBytes(i2osp(length, 2), V1, suite, te.encode(label), info), length);

/** The AEAD's key and nonce; the shared secret and the intermediate secret are zeroed (the caller zeroes the key). */
function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const empty = new Uint8Array(0);
  const pskIdHash = labeledExtract(HPKE_SUITE, empty, 'psk_id_hash', empty);
  const infoHash = labeledExtract(HPKE_SUITE, empty, 'info_hash', info);
  const context = concatBytes(Uint8Array.of(0), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, 'secret', empty);
  sharedSecret.fill(0);
  try {
    return { key: labeledExpand(HPKE_SUITE, secret, 'key', context, 32), nonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', context, 12) };
  } finally {
    secret.fill(0);
  }
}

function sharedSecret(dh: Uint8Array, enc: Uint8Array, pkR: Uint8Array): Uint8Array {
  const prk = labeledExtract(KEM_SUITE, new Uint8Array(0), 'eae_prk', dh);
  try {
    return labeledExpand(KEM_SUITE, prk, 'shared_secret', concatBytes(enc, pkR), 32);
  } finally {
    prk.fill(0);
  }
}

/**
 * A sender's context for one message (RFC 9180 §5.1.1 SetupBaseS, then one Seal): the encapsulated key and the
 * AEAD's key and nonce, for the recipient and `info` it was made with. It seals once: sealOnce zeroes its key and
 * nonce, and a second use throws. It holds no private key (the ephemeral one is dropped once agreed), so it can be
 * made before the message exists (envelope.ts makes the next envelope's ahead of it).
 */
export interface SenderContext {
  readonly enc: Uint8Array;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
  used: boolean;
}

function contextOf(dh: Uint8Array, enc: Uint8Array, pkR: Uint8Array, info: Uint8Array): SenderContext {
  const { key, nonce } = keySchedule(sharedSecret(dh, enc, pkR), info);
  return { enc, key, nonce, used: false };
}

/** Seals `plaintext` with a context, once; its key and nonce are zeroed after. */
export function sealOnce(ctx: SenderContext, plaintext: Uint8Array, aad: Uint8Array = new Uint8Array(0)): { enc: Uint8Array; ct: Uint8Array } {
  if (ctx.used) throw new Error('an HPKE sender context seals once');
  ctx.used = true;
  try {
    return { enc: ctx.enc, ct: chacha20poly1305(ctx.key, ctx.nonce, aad).encrypt(plaintext) };
  } finally {
    ctx.key.fill(0);
    ctx.nonce.fill(0);
  }
}

/** Zeroes a context that will not be used. */
export function discardContext(ctx: SenderContext): void {
  ctx.used = true;
  ctx.key.fill(0);
  ctx.nonce.fill(0);
}

/**
 * A sender context with a given ephemeral private key (for vectors) or a random one, in noble's X25519 (the random
 * one is zeroed once agreed: noble's own copies, as BigInts, cannot be).
 */
export function hpkeSender(pkR: Uint8Array, info: Uint8Array, skE?: Uint8Array): SenderContext {
  const sk = skE ?? x25519.utils.randomSecretKey();
  try {
    const enc = x25519.getPublicKey(sk);
    const dh = x25519.getSharedSecret(sk, pkR);
    try {
      return contextOf(dh, enc, pkR, info);
    } finally {
      dh.fill(0);
    }
  } finally {
    if (!skE) sk.fill(0);
  }
}

/** Seals with a given ephemeral private key (for vectors) or a random one; returns { enc, ct }. */
export function hpkeSeal(
  pkR: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
  skE?: Uint8Array,
): { enc: Uint8Array; ct: Uint8Array } {
  return sealOnce(hpkeSender(pkR, info, skE), plaintext, aad);
}

/**
 * Whether a SubtleCrypto does X25519 all the way (a key made, its public key exported and imported, an agreement),
 * asked once of each: some runtimes make the keys but cannot agree with them.
 */
const doesX25519Of = new WeakMap<SubtleCrypto, Promise<boolean>>();
async function doesX25519(subtle: SubtleCrypto): Promise<boolean> {
  try {
    const pair = (await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair;
    const own = await subtle.importKey('raw', await subtle.exportKey('raw', pair.publicKey), { name: 'X25519' }, false, []);
    return (await subtle.deriveBits({ name: 'X25519', public: own }, pair.privateKey, 256)).byteLength === 32;
  } catch {
    return false;
  }
}

/**
 * hpkeSender with the ephemeral key and the agreement in WebCrypto where `subtle` does X25519, and noble's otherwise
 * (`subtle` null: no WebCrypto). WebCrypto's is native: about 0.45 ms a seal on Node 20 against 1.2 ms for noble's in
 * JavaScript (2026-12-06, docs/performance.md, twentieth look). The ephemeral private key is then a CryptoKey that
 * cannot be exported: its bytes never exist in JavaScript. If a WebCrypto step fails, noble's is used instead (and
 * that WebCrypto is not tried again). An all-zero agreement (a low-order public key) is refused on either path
 * (RFC 9180 §7.1.4).
 */
export async function hpkeSenderAsync(
  pkR: Uint8Array,
  info: Uint8Array,
  subtle: SubtleCrypto | null = globalThis.crypto?.subtle ?? null,
): Promise<SenderContext> {
  if (!subtle) return hpkeSender(pkR, info);
  let asked = doesX25519Of.get(subtle);
  if (!asked) doesX25519Of.set(subtle, (asked = doesX25519(subtle)));
  if (!(await asked)) return hpkeSender(pkR, info);
  let enc: Uint8Array;
  let dh: Uint8Array;
  try {
    const pair = (await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair;
    enc = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
    const peer = await subtle.importKey('raw', Uint8Array.from(pkR), { name: 'X25519' }, false, []);
    dh = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: peer }, pair.privateKey, 256));
  } catch {
    // A WebCrypto that failed midway (or refused a low-order key, which noble refuses too): noble's, from now on.
    doesX25519Of.set(subtle, Promise.resolve(false));
    return hpkeSender(pkR, info);
  }
  try {
    if (dh.length !== 32 || dh.every((b) => b === 0)) throw new Error('the X25519 agreement is all zero: the recipient key is a low-order point');
    return contextOf(dh, enc, pkR, info);
  } finally {
    dh.fill(0);
  }
}

/** hpkeSeal with the platform's X25519 where it has one (hpkeSenderAsync). */
export async function hpkeSealAsync(
  pkR: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
  subtle: SubtleCrypto | null = globalThis.crypto?.subtle ?? null,
): Promise<{ enc: Uint8Array; ct: Uint8Array }> {
  return sealOnce(await hpkeSenderAsync(pkR, info, subtle), plaintext, aad);
}

/** Opens enc ‖ ct with a raw recipient private key. */
export function hpkeOpen(skR: Uint8Array, wire: Uint8Array, info: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Uint8Array {
  const enc = wire.subarray(0, 32);
  const pkR = x25519.getPublicKey(skR);
  const { key, nonce } = keySchedule(sharedSecret(x25519.getSharedSecret(skR, enc), enc, pkR), info);
  return chacha20poly1305(key, nonce, aad).decrypt(wire.subarray(32));
}

/** The wire form enc ‖ ct. */
export const wireOf = ({ enc, ct }: { enc: Uint8Array; ct: Uint8Array }): Uint8Array => concatBytes(enc, ct);
