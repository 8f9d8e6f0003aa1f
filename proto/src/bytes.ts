/**
 * Byte helpers for both sides of the boundary, in one place (as noble keeps
 * its own): hex in and out, a length check, and a comparison whose time does
 * not depend on where two equal-length inputs differ. Plain Uint8Array and no
 * Node built-ins, so the browser SDK uses the same code as the enclave (the
 * published SDK ships a verbatim copy: client/src/proto-copy/, as labels.ts).
 */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex, no prefix. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b];
  return out;
}

/** `0x` and lowercase hex. */
export const toHex0x = (bytes: Uint8Array): string => `0x${toHex(bytes)}`;

/**
 * The bytes of an even-length hex string (either case); with `prefix: true`
 * the string must start with `0x`.
 *
 * @throws {TypeError} for anything else
 */
export function fromHex(text: string, options: { prefix?: boolean } = {}): Uint8Array {
  const body = options.prefix ? (text.startsWith('0x') ? text.slice(2) : undefined) : text;
  if (body === undefined || body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body)) {
    throw new TypeError(options.prefix ? 'expected 0x-prefixed hex bytes' : 'expected an even-length hex string');
  }
  const out = new Uint8Array(body.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(body.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Whether `a` and `b` hold the same bytes. Lengths are compared first (a
 * length is not secret here: MACs, digests and keys have fixed sizes); for
 * equal lengths every byte is read whatever the first difference, so the time
 * says nothing about where it is.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * `bytes` if it is exactly `length` bytes long.
 *
 * @throws {RangeError} naming `what` otherwise
 */
export function expectLength(bytes: Uint8Array, length: number, what: string): Uint8Array {
  if (bytes.length !== length) throw new RangeError(`${what} must be ${length} bytes, not ${bytes.length}`);
  return bytes;
}
