/**
 * Enough of the Solana wire format to find the message a transaction signs,
 * to frame one, to check a prepared SOL transfer, to read a message's
 * instructions for the PIN prompt, and to tell a transaction message from an
 * off-chain one.
 */
import { equalBytes } from './proto-copy/bytes.js';
import { base58 } from '@scure/base';

/** A legacy or v0 transaction message, read for structure (the header's numbers are not checked). */
export interface SolanaMessageLayout {
  version: 'legacy' | 0;
  header: { requiredSignatures: number; readonlySigned: number; readonlyUnsigned: number };
  /** The static account keys, base58. */
  accountKeys: string[];
  recentBlockhash: string;
  instructions: Array<{ programIndex: number; accountIndexes: number[]; data: Uint8Array }>;
  /** v0: address lookup tables, base58, with the indexes they load. */
  lookups: Array<{ table: string; writable: number[]; readonly: number[] }>;
}

/**
 * Parses `bytes` as a legacy or v0 message that takes up exactly the whole
 * buffer (header, account keys, recent blockhash, instructions, v0 lookups);
 * undefined when they are not one. Lengths are compact-u16 in canonical form,
 * as the runtime reads them.
 */
export function parseSolanaMessage(bytes: Uint8Array): SolanaMessageLayout | undefined {
  let at = 0;
  const u8 = (): number => {
    if (at >= bytes.length) throw new TypeError('truncated');
    return bytes[at++]!;
  };
  const take = (n: number): Uint8Array => {
    if (at + n > bytes.length) throw new TypeError('truncated');
    at += n;
    return bytes.subarray(at - n, at);
  };
  const shortvec = (): number => {
    let value = 0;
    for (let i = 0; i < 3; i++) {
      const b = u8();
      value |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) {
        if (i > 0 && b === 0) throw new TypeError('non-canonical length');
        if (value > 0xffff) throw new TypeError('length too large');
        return value;
      }
    }
    throw new TypeError('length too long');
  };
  try {
    let version: 'legacy' | 0 = 'legacy';
    if ((bytes[0] ?? 0) & 0x80) {
      if ((u8() & 0x7f) !== 0) return undefined;
      version = 0;
    }
    const header = { requiredSignatures: u8(), readonlySigned: u8(), readonlyUnsigned: u8() };
    const accountKeys = Array.from({ length: shortvec() }, () => base58.encode(take(32)));
    const recentBlockhash = base58.encode(take(32));
    const instructions = Array.from({ length: shortvec() }, () => ({ programIndex: u8(), accountIndexes: [...take(shortvec())], data: take(shortvec()) }));
    const lookups =
      version === 0
        ? Array.from({ length: shortvec() }, () => ({ table: base58.encode(take(32)), writable: [...take(shortvec())], readonly: [...take(shortvec())] }))
        : [];
    if (at !== bytes.length) return undefined;
    return { version, header, accountKeys, recentBlockhash, instructions, lookups };
  } catch {
    return undefined;
  }
}

/**
 * Whether bytes parse as a legacy or v0 transaction message: their signature
 * would be a transaction signature, so they are never signed as a "message".
 * Bytes starting with the prefix of a later version (0x81 to 0xbf) count too.
 */
export function isSolanaTransactionMessage(bytes: Uint8Array): boolean {
  // Later versions (v1 is compiled by @solana/kit already) by their prefix: 0x81–0xbf never starts UTF-8 text, nor
  // the off-chain signing domain (0xff).
  if (bytes[0] !== undefined && bytes[0] >= 0x81 && bytes[0] <= 0xbf) return true;
  return parseSolanaMessage(bytes) !== undefined;
}

function readCompactU16(bytes: Uint8Array, offset: number): { value: number; size: number } {
  let value = 0;
  for (let i = 0; i < 3; i++) {
    const b = bytes[offset + i];
    if (b === undefined) throw new TypeError('truncated Solana transaction');
    value |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) === 0) return { value, size: i + 1 };
  }
  throw new TypeError('bad compact-u16 in Solana transaction');
}

function compactU16(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  do {
    let b = v & 0x7f;
    v >>= 7;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Uint8Array.from(out);
}

/** The message bytes of a wire transaction (what its signatures sign). */
export function solanaMessageOf(wire: Uint8Array): Uint8Array {
  const { value: count, size } = readCompactU16(wire, 0);
  const start = size + 64 * count;
  if (start >= wire.length) throw new TypeError('truncated Solana transaction');
  return wire.subarray(start);
}

/** The number of signatures a message needs (its header's first byte; v0 messages start with 0x80). */
export function requiredSignatures(message: Uint8Array): number {
  const header = message[0]! & 0x80 ? message[1] : message[0];
  if (header === undefined) throw new TypeError('empty Solana message');
  return header;
}

/** A wire transaction for `message` with every signature slot zero. */
export function unsignedWire(message: Uint8Array): Uint8Array {
  const n = requiredSignatures(message);
  const prefix = compactU16(n);
  const out = new Uint8Array(prefix.length + 64 * n + message.length);
  out.set(prefix, 0);
  out.set(message, prefix.length + 64 * n);
  return out;
}

const SYSTEM_PROGRAM = new Uint8Array(32);

/**
 * The SOL transfer a message makes, when it makes exactly one and nothing
 * else: a legacy message with one signer (the payer), the System Program as
 * its only read-only account, and one Transfer instruction from account 0 to
 * account 1. Anything else (another program, more instructions, more
 * signers, a v0 message) gives undefined.
 */
export function solTransferOf(message: Uint8Array): { from: string; to: string; lamports: bigint } | undefined {
  try {
    if (message[0] !== 1 || message[1] !== 0 || message[2] !== 1) return undefined;
    let at = 3;
    const keys = readCompactU16(message, at);
    if (keys.value !== 3) return undefined;
    at += keys.size;
    const key = (i: number): Uint8Array => message.subarray(at + 32 * i, at + 32 * (i + 1));
    if (!equalBytes(key(2), SYSTEM_PROGRAM)) return undefined;
    const from = key(0);
    const to = key(1);
    at += 96 + 32; // the keys, then the recent blockhash
    const count = readCompactU16(message, at);
    if (count.value !== 1) return undefined;
    at += count.size;
    if (message[at] !== 2) return undefined; // program: the System Program
    at += 1;
    const accounts = readCompactU16(message, at);
    at += accounts.size;
    if (accounts.value !== 2 || message[at] !== 0 || message[at + 1] !== 1) return undefined;
    at += 2;
    const data = readCompactU16(message, at);
    at += data.size;
    if (data.value !== 12 || at + 12 !== message.length) return undefined;
    const view = new DataView(message.buffer, message.byteOffset + at, 12);
    if (view.getUint32(0, true) !== 2) return undefined; // SystemInstruction::Transfer
    return { from: base58.encode(from), to: base58.encode(to), lamports: view.getBigUint64(4, true) };
  } catch {
    return undefined;
  }
}
