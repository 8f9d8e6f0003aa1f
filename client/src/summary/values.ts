/**
 * How the PIN prompt's summaries show values: integers in the smallest unit with their decimal point, and message
 * bytes as UTF-8 text when they are plain text, hex otherwise.
 */
import { toHex0x } from '../proto-copy/bytes.js';

/** A message's bytes as the user should see them: UTF-8 text when they are plain text, hex otherwise. */
export interface MessageContent {
  encoding: 'utf-8' | 'hex';
  /** The text, or 0x-hex of the bytes. */
  text: string;
  bytes: number;
}

/** An integer in the smallest unit with its decimal point: formatUnits(1500000000n, 9) = "1.5". */
export function formatUnits(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

// Control characters (but tab and newlines), and the bidirectional overrides that can make text read as other text.
const UNSAFE_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** UTF-8 text when the bytes are valid UTF-8 without control or bidi-override characters; 0x-hex otherwise. */
export function messageContent(bytes: Uint8Array): MessageContent {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    if (!UNSAFE_TEXT.test(text) && bytes.length > 0) return { encoding: 'utf-8', text, bytes: bytes.length };
  } catch {
    // not UTF-8
  }
  return { encoding: 'hex', text: toHex0x(bytes), bytes: bytes.length };
}
