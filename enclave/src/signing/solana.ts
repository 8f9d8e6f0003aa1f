/**
 * Solana signing (SPEC §3): wire transactions (legacy and v0) and raw
 * messages, never bytes that parse as a transaction message, with ed25519. The enclave parses the whole transaction message,
 * finds its own key among the required signers and fills that signature slot;
 * the envelope is bound to SHA-256 of the message bytes. Signatures are
 * ./ed25519.ts's (WebAssembly of our own, nothing secret left behind),
 * verified by OpenSSL before they leave (selfCheckEd25519).
 */
import { createPublicKey, verify } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { equalBytes } from '@enclave-wallet/proto/bytes';
import { ed25519PublicKey, signEd25519 } from './ed25519.js';

const invalid = (why: string): EnclaveWalletError => new EnclaveWalletError('TRANSACTION_INVALID', `the Solana transaction is not signable: ${why}`);
/** The largest Solana transaction (one packet). */
export const MAX_TRANSACTION_BYTES = 1232;

class Cursor {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  u8(): number {
    if (this.pos >= this.b.length) throw invalid('truncated');
    return this.b[this.pos++]!;
  }
  take(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw invalid('truncated');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** Solana's compact-u16 ("shortvec"), canonical encodings only. */
  shortvec(): number {
    let value = 0;
    for (let i = 0; i < 3; i++) {
      const byte = this.u8();
      value |= (byte & 0x7f) << (7 * i);
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) throw invalid('non-canonical length');
        if (value > 0xffff) throw invalid('length too large');
        return value;
      }
      if (i === 2) throw invalid('length too long');
    }
    throw invalid('length too long');
  }
}

export interface ParsedSolanaTransaction {
  version: 'legacy' | 0;
  signatureCount: number;
  /** Offset of the message within the wire bytes. */
  messageOffset: number;
  message: Uint8Array;
  requiredSigners: Uint8Array[];
}

interface MessageLayout {
  version: 'legacy' | 0;
  required: number;
  readonlySigned: number;
  readonlyUnsigned: number;
  keys: Uint8Array[];
  /** Per instruction: its program index, then its account indexes. */
  instructionSlots: number[][];
  lookupAccounts: number;
}

/**
 * Reads a legacy or v0 message from the cursor to the end of its bytes
 * (header, account keys, recent blockhash, instructions, v0 lookups); bytes
 * left over are refused. Structure only: the header's numbers are not checked.
 */
function readMessage(c: Cursor): MessageLayout {
  let version: 'legacy' | 0 = 'legacy';
  if ((c.b[c.pos] ?? 0) & 0x80) {
    const v = c.u8() & 0x7f;
    if (v !== 0) throw invalid(`message version ${v} is not supported`);
    version = 0;
  }
  const required = c.u8();
  const readonlySigned = c.u8();
  const readonlyUnsigned = c.u8();
  const keyCount = c.shortvec();
  const keys: Uint8Array[] = [];
  for (let i = 0; i < keyCount; i++) keys.push(c.take(32));
  c.take(32); // recent blockhash
  const instructionSlots: number[][] = [];
  const instructionCount = c.shortvec();
  for (let i = 0; i < instructionCount; i++) {
    const program = c.u8();
    const accounts = [...c.take(c.shortvec())];
    c.take(c.shortvec());
    instructionSlots.push([program, ...accounts]);
  }
  let lookupAccounts = 0;
  if (version === 0) {
    const lookups = c.shortvec();
    for (let i = 0; i < lookups; i++) {
      c.take(32);
      lookupAccounts += c.take(c.shortvec()).length;
      lookupAccounts += c.take(c.shortvec()).length;
    }
  }
  if (c.pos !== c.b.length) throw invalid('trailing bytes');
  return { version, required, readonlySigned, readonlyUnsigned, keys, instructionSlots, lookupAccounts };
}

/** Parses a wire transaction fully; anything left over or out of range is refused. */
export function parseSolanaTransaction(wire: Uint8Array): ParsedSolanaTransaction {
  if (wire.length > MAX_TRANSACTION_BYTES) throw invalid('larger than a Solana packet');
  const c = new Cursor(wire);
  const signatureCount = c.shortvec();
  c.take(64 * signatureCount);
  const messageOffset = c.pos;
  const { version, required, readonlySigned, readonlyUnsigned, keys, instructionSlots, lookupAccounts } = readMessage(c);
  const keyCount = keys.length;
  if (required === 0 || required > keyCount) throw invalid('bad number of required signatures');
  if (readonlySigned >= required || readonlyUnsigned > keyCount - required) throw invalid('bad header');
  if (signatureCount !== required) throw invalid('signature slots do not match the required signers');
  const total = keyCount + lookupAccounts;
  for (const slots of instructionSlots) if (slots.some((s) => s >= total)) throw invalid('instruction refers to a missing account');
  return { version, signatureCount, messageOffset, message: wire.subarray(messageOffset), requiredSigners: keys.slice(0, required) };
}

/**
 * Whether bytes parse as a Solana transaction message, legacy or v0: a
 * header, account keys, a recent blockhash and instructions (and v0's
 * lookups) that take up exactly the whole buffer. Structure only, so it also
 * catches messages the runtime would refuse: a signature over such bytes is a
 * transaction signature, and a "message" must never be one (browser wallets
 * refuse them too). Bytes that start with the prefix of a later message
 * version (0x81 to 0xbf: v1 to v63) count as transaction messages too.
 */
export function isSolanaTransactionMessage(bytes: Uint8Array): boolean {
  // Newer message versions (v1 is compiled by @solana/kit already) are refused by their prefix: 0x81–0xbf never
  // starts UTF-8 text, nor the off-chain signing domain (0xff).
  if (bytes[0] !== undefined && bytes[0] >= 0x81 && bytes[0] <= 0xbf) return true;
  try {
    readMessage(new Cursor(bytes));
    return true;
  } catch {
    return false;
  }
}

/** SHA-256 of the message bytes: what a Solana envelope is bound to. */
export function solanaDigest(message: Uint8Array): Uint8Array {
  return sha256(message);
}

/** Signs the transaction as `publicKey`'s signer slot; returns the signature and the wire transaction with it. */
export function signSolanaTransaction(wire: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array; signedTransaction: Uint8Array } {
  const parsed = parseSolanaTransaction(wire);
  const publicKey = ed25519PublicKey(privateKey);
  const slot = parsed.requiredSigners.findIndex((k) => equalBytes(k, publicKey));
  if (slot < 0) throw invalid('this account is not a required signer of the transaction');
  const { signature } = signEd25519(parsed.message, privateKey);
  selfCheckEd25519(signature, parsed.message, publicKey);
  const signed = Uint8Array.from(wire);
  const prefix = parsed.messageOffset - 64 * parsed.signatureCount;
  signed.set(signature, prefix + 64 * slot);
  return { signature, signedTransaction: signed };
}

/**
 * Refuses a message that cannot be signed as one: empty, over 64 KiB, or
 * bytes that parse as a transaction message.
 *
 * @throws {EnclaveWalletError} MESSAGE_INVALID, MESSAGE_IS_TRANSACTION
 */
export function checkSolanaMessage(message: Uint8Array): void {
  if (message.length === 0 || message.length > 64 * 1024) throw new EnclaveWalletError('MESSAGE_INVALID', 'the message must be 1 byte to 64 KiB');
  if (isSolanaTransactionMessage(message))
    throw new EnclaveWalletError('MESSAGE_IS_TRANSACTION', 'the message parses as a Solana transaction message; sign it as a transaction');
}

/** Signs raw bytes that are not a transaction message (checkSolanaMessage). */
export function signSolanaMessage(message: Uint8Array, privateKey: Uint8Array): Uint8Array {
  checkSolanaMessage(message);
  const { signature, publicKey } = signEd25519(message, privateKey);
  selfCheckEd25519(signature, message, publicKey);
  return signature;
}

/**
 * Verifies an ed25519 signature made here with a second implementation (OpenSSL, node:crypto) before it leaves,
 * as EVM signatures are (secp256k1.ts): a signature computed wrong (a fault, a bug) is never handed out, and a
 * faulty ed25519 signature can give the private key away. Unlike the EVM check it does not recompute the nonce (that
 * would need a second ed25519 with the key); a nonce that stopped depending on the key's prefix would still verify,
 * and is caught by the tests against RFC 8032's vectors and noble instead (enclave/test/ed25519.test.ts).
 *
 * @throws {EnclaveWalletError} INTERNAL_ERROR when it does not verify under `publicKey` (32 raw bytes); the
 *   signature is zeroed first
 */
export function selfCheckEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): void {
  let valid: boolean;
  try {
    // A raw public key goes in as a JWK (OpenSSL takes it as raw bytes).
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') }, format: 'jwk' });
    valid = signature.length === 64 && verify(null, message, key, signature);
  } catch {
    valid = false;
  }
  if (!valid) {
    signature.fill(0); // a faulty signature with a valid one of the same message gives the key away: not left in memory
    throw new EnclaveWalletError('INTERNAL_ERROR', 'signature self-check failed');
  }
}
