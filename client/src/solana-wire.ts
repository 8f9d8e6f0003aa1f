/** Just enough of the Solana wire format to find the message a transaction signs, and to frame one. */

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
