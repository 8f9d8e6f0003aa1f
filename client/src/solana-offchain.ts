/**
 * Solana off-chain messages: the `\xffsolana offchain` signing domain, so a
 * signed text can never be a transaction (whose first byte is a header count
 * or a version prefix 0x80–0xfe, never 0xff). The layout is the one of the
 * Solana off-chain message specification as @solana/kit 8
 * (@solana/offchain-messages) encodes and decodes it:
 *
 *   v0: domain (16) | 0 | application domain (32) | format (1: 0 restricted
 *       ASCII, 1 UTF-8 ≤ 1232 bytes in all, 2 UTF-8 ≤ 65535) | signer count
 *       (1) | signers (32 each) | length (u16 LE) | text
 *   v1: domain (16) | 1 | signer count (1) | signers, sorted bytewise | text
 *
 * (The older header of the first draft, without application domain and
 * signers, is not produced; docs/api.md says why.)
 */
import { base58 } from '@scure/base';

/** `\xffsolana offchain`, the 16 bytes every off-chain message starts with. */
export const OFFCHAIN_SIGNING_DOMAIN: Uint8Array = Uint8Array.from([0xff, ...new TextEncoder().encode('solana offchain')]);
const MAX_HARDWARE_WALLET_BYTES = 1232;

export interface SolanaOffchainMessage {
  version: 0 | 1;
  /** v0: the application domain, base58 (32 bytes). */
  applicationDomain?: string;
  /** v0: the content format. */
  format?: 'restricted-ascii' | 'utf-8' | 'utf-8-extended';
  /** The required signers, base58. */
  signers: string[];
  text: string;
}

const FORMATS = ['restricted-ascii', 'utf-8', 'utf-8-extended'] as const;
const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
};

/**
 * Encodes an off-chain message (default version 1, the one wallets'
 * `solana:signOffchainMessage` produces). v0 picks the narrowest format the
 * text fits.
 */
export function encodeSolanaOffchainMessage(message: { text: string; signers: string[]; version?: 0 | 1; applicationDomain?: string }): Uint8Array {
  const text = new TextEncoder().encode(message.text);
  if (text.length === 0) throw new TypeError('an off-chain message is not empty');
  if (message.signers.length === 0 || message.signers.length > 255) throw new TypeError('an off-chain message has 1 to 255 signers');
  const signers = message.signers.map((s) => {
    const key = base58.decode(s);
    if (key.length !== 32) throw new TypeError('a signer is a 32-byte base58 address');
    return key;
  });
  if ((message.version ?? 1) === 1) {
    const sorted = [...signers].sort(compareBytes);
    for (let i = 1; i < sorted.length; i++) if (compareBytes(sorted[i - 1]!, sorted[i]!) === 0) throw new TypeError('signers must be unique');
    return Uint8Array.from([...OFFCHAIN_SIGNING_DOMAIN, 1, sorted.length, ...sorted.flatMap((k) => [...k]), ...text]);
  }
  const domain = message.applicationDomain ? base58.decode(message.applicationDomain) : new Uint8Array(32);
  if (domain.length !== 32) throw new TypeError('the application domain is 32 bytes');
  const preamble = OFFCHAIN_SIGNING_DOMAIN.length + 1 + 32 + 1 + 1 + 32 * signers.length + 2;
  const fitsHardware = preamble + text.length <= MAX_HARDWARE_WALLET_BYTES;
  const format = fitsHardware && /^[\x20-\x7e]*$/.test(message.text) ? 0 : fitsHardware ? 1 : 2;
  if (text.length > 0xffff) throw new TypeError('a v0 off-chain message is at most 65535 bytes');
  return Uint8Array.from([
    ...OFFCHAIN_SIGNING_DOMAIN,
    0,
    ...domain,
    format,
    signers.length,
    ...signers.flatMap((k) => [...k]),
    text.length & 0xff,
    text.length >> 8,
    ...text,
  ]);
}

/** Decodes an off-chain message; undefined when the bytes are not one (no signing domain, bad lengths, not UTF-8). */
export function decodeSolanaOffchainMessage(bytes: Uint8Array): SolanaOffchainMessage | undefined {
  if (bytes.length < OFFCHAIN_SIGNING_DOMAIN.length + 2 || OFFCHAIN_SIGNING_DOMAIN.some((b, i) => bytes[i] !== b)) return undefined;
  let at = OFFCHAIN_SIGNING_DOMAIN.length;
  const version = bytes[at++]!;
  const utf8 = (b: Uint8Array): string | undefined => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      return undefined;
    }
  };
  const signersAt = (): string[] | undefined => {
    const n = bytes[at++];
    if (!n || at + 32 * n > bytes.length) return undefined;
    const out = Array.from({ length: n }, (_, i) => base58.encode(bytes.subarray(at + 32 * i, at + 32 * (i + 1))));
    at += 32 * n;
    return out;
  };
  if (version === 0) {
    if (at + 34 > bytes.length) return undefined;
    const applicationDomain = base58.encode(bytes.subarray(at, at + 32));
    at += 32;
    const format = FORMATS[bytes[at++]!];
    const signers = signersAt();
    if (!format || !signers || at + 2 > bytes.length) return undefined;
    const length = bytes[at]! | (bytes[at + 1]! << 8);
    at += 2;
    if (at + length !== bytes.length || length === 0) return undefined;
    const text = utf8(bytes.subarray(at));
    if (text === undefined || (format === 'restricted-ascii' && !/^[\x20-\x7e]*$/.test(text))) return undefined;
    return { version: 0, applicationDomain, format, signers, text };
  }
  if (version === 1) {
    const signers = signersAt();
    const text = signers && at < bytes.length ? utf8(bytes.subarray(at)) : undefined;
    if (!signers || text === undefined) return undefined;
    return { version: 1, signers, text };
  }
  return undefined;
}
