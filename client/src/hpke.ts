/**
 * HPKE (RFC 9180) base mode for the client, written from the RFC with @noble
 * primitives (no Node built-ins), for the suite of SPEC §6:
 * DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305. It shares no
 * code with the enclave's implementation (enclave/src/envelope/hpke.ts, on
 * node:crypto's X25519 and ChaCha20-Poly1305), so tests that seal with it and
 * open in the enclave (and the reverse) check one against the other; it is
 * also checked against RFC 9180 A.2.1. hpkeSealAsync, which the SDK's calls
 * use, does the X25519 steps in the platform's WebCrypto where it has them
 * (on Node, OpenSSL's, as the enclave's), the rest here.
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

function keySchedule(sharedSecret: Uint8Array, info: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const empty = new Uint8Array(0);
  const pskIdHash = labeledExtract(HPKE_SUITE, empty, 'psk_id_hash', empty);
  const infoHash = labeledExtract(HPKE_SUITE, empty, 'info_hash', info);
  const context = concatBytes(Uint8Array.of(0), pskIdHash, infoHash);
  const secret = labeledExtract(HPKE_SUITE, sharedSecret, 'secret', empty);
  return { key: labeledExpand(HPKE_SUITE, secret, 'key', context, 32), nonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', context, 12) };
}

function sharedSecret(dh: Uint8Array, enc: Uint8Array, pkR: Uint8Array): Uint8Array {
  const prk = labeledExtract(KEM_SUITE, new Uint8Array(0), 'eae_prk', dh);
  return labeledExpand(KEM_SUITE, prk, 'shared_secret', concatBytes(enc, pkR), 32);
}

/** Seals with a given ephemeral private key (for vectors) or a random one; returns { enc, ct }. */
export function hpkeSeal(
  pkR: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
  skE: Uint8Array = x25519.utils.randomSecretKey(),
): { enc: Uint8Array; ct: Uint8Array } {
  const enc = x25519.getPublicKey(skE);
  const { key, nonce } = keySchedule(sharedSecret(x25519.getSharedSecret(skE, pkR), enc, pkR), info);
  return { enc, ct: chacha20poly1305(key, nonce, aad).encrypt(plaintext) };
}

/** Whether `subtle` does X25519 (Node 20 and later, current browsers); asked once for the platform's own. */
let platformX25519: Promise<boolean> | undefined;
async function doesX25519(subtle: SubtleCrypto): Promise<boolean> {
  try {
    await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
    return true;
  } catch {
    return false;
  }
}

/**
 * hpkeSeal with the ephemeral key and the agreement in WebCrypto where `subtle` has X25519, and noble's otherwise.
 * WebCrypto's is native: about 0.4 ms a seal on Node 20 against 1.1 ms for noble's in JavaScript (2026-12-06,
 * docs/performance.md, twentieth look), time a signature's caller waits. The ephemeral private key is then a
 * CryptoKey that cannot be exported: its bytes never exist in JavaScript. The key schedule and the AEAD are the
 * same code as hpkeSeal's; the agreement's output is zeroed once used.
 */
export async function hpkeSealAsync(
  pkR: Uint8Array,
  info: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array = new Uint8Array(0),
  subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle,
): Promise<{ enc: Uint8Array; ct: Uint8Array }> {
  const native = subtle !== undefined && (await (subtle === globalThis.crypto?.subtle ? (platformX25519 ??= doesX25519(subtle)) : doesX25519(subtle)));
  if (!subtle || !native) return hpkeSeal(pkR, info, plaintext, aad);
  const pair = (await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair;
  const enc = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  const peer = await subtle.importKey('raw', Uint8Array.from(pkR), { name: 'X25519' }, false, []);
  const dh = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: peer }, pair.privateKey, 256));
  try {
    const { key, nonce } = keySchedule(sharedSecret(dh, enc, pkR), info);
    return { enc, ct: chacha20poly1305(key, nonce, aad).encrypt(plaintext) };
  } finally {
    dh.fill(0);
  }
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
