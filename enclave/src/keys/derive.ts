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
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hmac } from '@noble/hashes/hmac.js';
import { ripemd160 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { base58, bech32 } from '@scure/base';
import { HDKey } from '@scure/bip32';
import { pbkdf2 } from 'node:crypto';
import { entropyToMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';

/** A chain family. */
export type Network = 'evm' | 'solana' | 'bitcoin';
export const NETWORKS: readonly Network[] = ['evm', 'solana', 'bitcoin'];

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

/** 32 bytes of entropy → 24-word English mnemonic. */
export function mnemonicFromEntropy(entropy: Uint8Array): string {
  if (entropy.length !== 32) throw new RangeError('entropy must be 32 bytes');
  return entropyToMnemonic(entropy, english);
}

/** Whether `mnemonic` is a valid BIP-39 English mnemonic (checksum included). */
export function isValidMnemonic(mnemonic: string): boolean {
  return validateMnemonic(mnemonic, english);
}

/** Normalises whitespace and case of a typed-in mnemonic. */
export function normaliseMnemonic(mnemonic: string): string {
  return mnemonic.normalize('NFKD').trim().toLowerCase().split(/\s+/).join(' ');
}

/** BIP-39 seed (64 bytes) with the empty passphrase, in JavaScript (the reference the native one is tested against). */
export function seedFromMnemonicSync(mnemonic: string): Uint8Array {
  return mnemonicToSeedSync(mnemonic, '');
}

/**
 * BIP-39 seed (64 bytes) with the empty passphrase: PBKDF2-HMAC-SHA512,
 * 2048 rounds, salt "mnemonic", natively on libuv's thread pool (node:crypto),
 * so the event loop does not spend milliseconds of JavaScript per signature.
 */
export function seedFromMnemonic(mnemonic: string): Promise<Uint8Array> {
  const password = Buffer.from(mnemonic.normalize('NFKD'), 'utf8');
  return new Promise((resolve, reject) =>
    pbkdf2(password, Buffer.from('mnemonic', 'utf8'), 2048, 64, 'sha512', (err, key) => {
      password.fill(0);
      if (err) reject(err);
      else {
        resolve(new Uint8Array(key));
        key.fill(0);
      }
    }),
  );
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
  if (!Number.isInteger(index) || index < 0 || index > MAX_ACCOUNT_INDEX) throw new RangeError(`account index must be an integer from 0 to ${MAX_ACCOUNT_INDEX}`);
}

/** EIP-55 checksummed address of an uncompressed secp256k1 public key. */
export function evmAddress(uncompressedPublicKey: Uint8Array): string {
  const hex = Buffer.from(keccak_256(uncompressedPublicKey.subarray(1)).subarray(12)).toString('hex');
  const hash = Buffer.from(keccak_256(new TextEncoder().encode(hex))).toString('hex');
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
  let I = hmac(sha512, SLIP10_ED25519_KEY, seed);
  let key = I.slice(0, 32);
  let chainCode = I.slice(32);
  I.fill(0);
  for (const index of path) {
    if (!Number.isInteger(index) || index < 0 || index > MAX_ACCOUNT_INDEX) throw new RangeError('SLIP-0010 index out of range');
    const data = new Uint8Array(37);
    data.set(key, 1);
    new DataView(data.buffer).setUint32(33, (index | 0x80000000) >>> 0);
    I = hmac(sha512, chainCode, data);
    data.fill(0);
    key.fill(0);
    key = I.slice(0, 32);
    chainCode = I.slice(32);
    I.fill(0);
  }
  return { key, chainCode };
}

/** Derives one account from a BIP-39 seed. */
export function deriveAccount(seed: Uint8Array, network: Network, index: number): PrivateAccount {
  const path = pathOf(network, index);
  if (network === 'solana') {
    const { key, chainCode } = slip10Ed25519(seed, [44, 501, index, 0]);
    chainCode.fill(0);
    return { network, index, path, address: base58.encode(ed25519.getPublicKey(key)), privateKey: key };
  }
  const root = HDKey.fromMasterSeed(seed);
  const node = root.derive(path);
  try {
    const privateKey = Uint8Array.from(node.privateKey!);
    if (network === 'evm') return { network, index, path, address: evmAddress(secp256k1.getPublicKey(privateKey, false)), privateKey };
    const program = ripemd160(sha256(node.publicKey!));
    return { network, index, path, address: bech32.encode('bc', [0, ...bech32.toWords(program)]), privateKey };
  } finally {
    node.wipePrivateData();
    root.wipePrivateData();
  }
}

/** The public part of an account (its private key zeroed). */
export function derivePublicAccount(seed: Uint8Array, network: Network, index: number): PublicAccount {
  const { privateKey, ...account } = deriveAccount(seed, network, index);
  privateKey.fill(0);
  return account;
}

/** The accounts of a new wallet: index 0 of every network. */
export function initialAccounts(seed: Uint8Array): PublicAccount[] {
  return NETWORKS.map((n) => derivePublicAccount(seed, n, 0));
}
