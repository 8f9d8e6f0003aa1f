/**
 * Key derivation (SPEC §4): 32 bytes of entropy → BIP-39 mnemonic (24 English
 * words) → BIP-39 seed (empty passphrase) → per-network keys:
 *
 * | network | curve | path | address |
 * | --- | --- | --- | --- |
 * | evm | secp256k1 (BIP-32) | m/44'/60'/0'/0/{i} | EIP-55 checksummed |
 * | solana | ed25519 (SLIP-0010) | m/44'/501'/{i}'/0' | base58 public key |
 * | bitcoin | secp256k1 (BIP-32) | m/84'/0'/0'/0/{i} | P2WPKH bech32 (bc1q…) |
 *
 * These match what MetaMask, Phantom and BIP-84 wallets derive from the same
 * mnemonic. Callers zero the returned private keys when done.
 */
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { base58, bech32 } from '@scure/base';
import { createECDH, createHmac, pbkdf2Sync } from 'node:crypto';
import { EnclaveWalletError, NETWORKS, type NetworkName } from '@enclave-wallet/proto';
import { ed25519PublicKey } from '../signing/ed25519.js';
import { fromHex, toHex } from '@enclave-wallet/proto/bytes';
import { phraseBytes } from './phrase.js';
import { SecretBytes } from '../secret.js';
import { PublicDerivationCache } from './derivation-cache.js';

export { PublicDerivationCache } from './derivation-cache.js';

/** A chain family. */
export type Network = NetworkName;
export { NETWORKS };

/** Highest account index (indexes are hardened in Solana paths, so below 2^31). */
export const MAX_ACCOUNT_INDEX = 0x7fffffff;

/** An account's public part. */
export interface PublicAccount {
  network: Network;
  index: number;
  path: string;
  address: string;
}

/** An account with its private key (32 bytes; zero it after use). */
export interface PrivateAccount extends PublicAccount {
  privateKey: Uint8Array;
}

/** Normalises whitespace and case of a typed-in mnemonic. */
export function normaliseMnemonic(mnemonic: string): string {
  return mnemonic.normalize('NFKD').trim().toLowerCase().split(/\s+/).join(' ');
}

/**
 * BIP-39 seed (64 bytes) with the empty passphrase: PBKDF2-HMAC-SHA512,
 * 2048 rounds, salt "mnemonic", natively (node:crypto). Takes the phrase's
 * NFKD UTF-8 bytes over and zeroes them.
 *
 * Synchronous (about 3 ms of the event loop): node:crypto's asynchronous
 * PBKDF2 copies the password into a buffer of its job, cleared only when the
 * garbage collector destroys the job, so the last phrase stayed whole in
 * memory until then (a review found it from outside the process). This runs
 * once per wallet created or imported, and for blobs sealed before version 3
 * (later ones carry the seed).
 */
function seedOfPhrase(password: SecretBytes): Promise<SecretBytes> {
  try {
    return Promise.resolve(SecretBytes.adopt(pbkdf2Sync(password, 'mnemonic', 2048, 64, 'sha512')));
  } catch (err) {
    return Promise.reject(err as Error);
  } finally {
    password.dispose();
  }
}

/**
 * BIP-39 seed of a wallet's entropy (16 to 32 bytes: 12 to 24 words), through its English phrase, which is made
 * as bytes only, never as a string (keys/phrase.ts): this runs for every signature whose seed is not cached.
 */
export function seedFromEntropy(entropy: Uint8Array): Promise<SecretBytes> {
  return seedOfPhrase(phraseBytes(entropy));
}

/** The derivation path of an account. */
export function pathOf(network: Network, index: number): string {
  checkIndex(index);
  switch (network) {
    case 'evm':
      return `m/44'/60'/0'/0/${index}`;
    case 'solana':
      return `m/44'/501'/${index}'/0'`;
    case 'bitcoin':
      return `m/84'/0'/0'/0/${index}`;
  }
}

function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_ACCOUNT_INDEX)
    throw new EnclaveWalletError('ACCOUNT_INDEX_INVALID', `account index must be an integer from 0 to ${MAX_ACCOUNT_INDEX}`);
}

/** EIP-55 checksummed address of an uncompressed secp256k1 public key. */
export function evmAddress(uncompressedPublicKey: Uint8Array): string {
  const hex = toHex(keccak_256(uncompressedPublicKey.subarray(1)).subarray(12));
  const hash = toHex(keccak_256(new TextEncoder().encode(hex)));
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(hash[i]!, 16) >= 8 ? hex[i]!.toUpperCase() : hex[i]!;
  return out;
}

/** HMAC key of SLIP-0010 for ed25519. */
const SLIP10_ED25519_KEY = new TextEncoder().encode('ed25519 seed');

/**
 * SLIP-0010 ed25519 derivation (hardened steps only).
 * `path` lists raw indexes; each is hardened here.
 */
export function slip10Ed25519(seed: Uint8Array, path: number[]): { key: Uint8Array; chainCode: Uint8Array } {
  // node:crypto's HMAC, as BIP-32's below: its output is a buffer of its own, outside the JavaScript heap.
  let I = createHmac('sha512', SLIP10_ED25519_KEY).update(seed).digest();
  let key = SecretBytes.copyOf(I.subarray(0, 32));
  let chainCode = SecretBytes.copyOf(I.subarray(32));
  I.fill(0);
  for (const index of path) {
    if (!Number.isInteger(index) || index < 0 || index > MAX_ACCOUNT_INDEX) throw new RangeError('SLIP-0010 index out of range');
    // 0x00 ‖ key ‖ index: the private key, so in memory of its own, zeroed at the end of the step.
    using data = SecretBytes.alloc(37);
    data.set(key, 1);
    new DataView(data.buffer).setUint32(33, (index | 0x80000000) >>> 0);
    I = createHmac('sha512', chainCode).update(data).digest();
    key.fill(0);
    chainCode.fill(0);
    key = SecretBytes.copyOf(I.subarray(0, 32));
    chainCode = SecretBytes.copyOf(I.subarray(32));
    I.fill(0);
  }
  return { key, chainCode };
}

/** The order of secp256k1, big-endian. */
const SECP256K1_N = fromHex('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
const BITCOIN_SEED = new TextEncoder().encode('Bitcoin seed');

/**
 * Private scalars stay 32-byte big-endian arrays of their own, never BigInts or hex strings (neither can be
 * zeroed, and both end up in the JavaScript heap): comparison and addition modulo n are done on the bytes,
 * in a fixed number of steps whatever the values.
 */
function compare(a: Uint8Array, b: Uint8Array): number {
  let result = 0;
  for (let i = 0; i < 32; i++) {
    const d = (a[i]! - b[i]!) | 0;
    // The first byte that differs decides; later ones cannot change it.
    result = result === 0 ? Math.sign(d) : result;
  }
  return result;
}
const isZero = (a: Uint8Array): boolean => a.reduce((acc, x) => acc | x, 0) === 0;
/** `a` = (`a` + `b`) mod n, in place, for `a`, `b` < n. */
function addModN(a: Uint8Array, b: Uint8Array): void {
  let carry = 0;
  for (let i = 31; i >= 0; i--) {
    const t = a[i]! + b[i]! + carry;
    a[i] = t & 0xff;
    carry = t >> 8;
  }
  // a + b < 2n: subtract n once if the sum overflowed 256 bits or is still ≥ n.
  const subtract = carry === 1 || compare(a, SECP256K1_N) >= 0;
  let borrow = 0;
  for (let i = 31; i >= 0; i--) {
    const t = a[i]! - (subtract ? SECP256K1_N[i]! : 0) - borrow;
    a[i] = t & 0xff;
    borrow = t < 0 ? 1 : 0;
  }
}

/** The compressed (33 bytes) or uncompressed (65 bytes) secp256k1 public key of `privateKey`, natively. */
export function secp256k1PublicKey(privateKey: Uint8Array, compressed = true): Uint8Array {
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(privateKey);
  return new Uint8Array(ecdh.getPublicKey(null, compressed ? 'compressed' : 'uncompressed'));
}

/**
 * BIP-32 derivation of a secp256k1 private key along `path` ("m/44'/60'/0'/0/0"),
 * with node:crypto's HMAC-SHA512 and native point multiplication: only what
 * the path needs (a parent public key for each non-hardened step), a few
 * hundred microseconds instead of tens of milliseconds of JavaScript. Checked
 * against the BIP-32 vectors and @scure/bip32 (enclave/test/vectors).
 */
export function bip32Secp256k1(
  seed: Uint8Array,
  path: string,
  /** The compressed public key of the node at `at` (the path so far), whose private key is `privateKey`. */
  publicKeyOf: (privateKey: Uint8Array, at: string) => Uint8Array = (k) => secp256k1PublicKey(k),
): Uint8Array {
  if (!/^m(\/\d+'?)*$/.test(path)) throw new RangeError(`bad derivation path ${path}`);
  let I = createHmac('sha512', BITCOIN_SEED).update(seed).digest();
  const k = SecretBytes.copyOf(I.subarray(0, 32));
  let chain = SecretBytes.copyOf(I.subarray(32));
  I.fill(0);
  try {
    if (isZero(k) || compare(k, SECP256K1_N) >= 0) throw new RangeError('invalid master key');
    let at = 'm';
    for (const part of path.split('/').slice(1)) {
      const hardened = part.endsWith("'");
      const index = Number(hardened ? part.slice(0, -1) : part);
      if (!Number.isInteger(index) || index < 0 || index >= 0x80000000) throw new RangeError(`bad index in ${path}`);
      using data = SecretBytes.alloc(37);
      if (hardened) data.set(k, 1);
      else data.set(publicKeyOf(k, at), 0);
      at += `/${part}`;
      new DataView(data.buffer).setUint32(33, (hardened ? index + 0x80000000 : index) >>> 0);
      I = createHmac('sha512', chain).update(data).digest();
      using il = SecretBytes.copyOf(I.subarray(0, 32));
      chain.dispose();
      chain = SecretBytes.copyOf(I.subarray(32));
      I.fill(0);
      // IL ≥ n or a zero key: BIP-32 says try the next index; with 2^-127 odds, refuse instead.
      if (compare(il, SECP256K1_N) >= 0) throw new RangeError('invalid child key');
      addModN(k, il);
      if (isZero(k)) throw new RangeError('invalid child key');
    }
    return k;
  } catch (err) {
    k.dispose();
    throw err;
  } finally {
    chain.dispose();
  }
}

/** Derives one account from a BIP-39 seed; `cache` (optional) spares the public parts of derivations it has seen. */
export function deriveAccount(seed: Uint8Array, network: Network, index: number, cache?: PublicDerivationCache): PrivateAccount {
  const path = pathOf(network, index);
  const tag = cache?.tagOf(seed);
  const remember = <T extends Uint8Array | string>(what: string, compute: () => T): T => (cache ? cache.remember(tag!, what, compute) : compute());
  if (network === 'solana') {
    const { key, chainCode } = slip10Ed25519(seed, [44, 501, index, 0]);
    chainCode.fill(0);
    return { network, index, path, address: remember(`address ${path}`, () => base58.encode(ed25519PublicKey(key))), privateKey: key };
  }
  const privateKey = bip32Secp256k1(seed, path, (k, at) => remember(`public ${at}`, () => secp256k1PublicKey(k)));
  if (network === 'evm')
    return { network, index, path, address: remember(`address ${path}`, () => evmAddress(secp256k1PublicKey(privateKey, false))), privateKey };
  const address = remember(`address ${path}`, () => bech32.encode('bc', [0, ...bech32.toWords(ripemd160(sha256(secp256k1PublicKey(privateKey, true))))]));
  return { network, index, path, address, privateKey };
}

/** The public part of an account (its private key zeroed). */
export function derivePublicAccount(seed: Uint8Array, network: Network, index: number, cache?: PublicDerivationCache): PublicAccount {
  const { privateKey, ...account } = deriveAccount(seed, network, index, cache);
  privateKey.fill(0);
  return account;
}

/** The accounts of a new wallet: index 0 of every network. */
export function initialAccounts(seed: Uint8Array, cache?: PublicDerivationCache): PublicAccount[] {
  return NETWORKS.map((n) => derivePublicAccount(seed, n, 0, cache));
}
