/**
 * A minimal deterministic CBOR encoder (RFC 8949, definite lengths, shortest
 * heads) for what the simulated NSM emits: maps, arrays, text and byte
 * strings, unsigned and negative integers, null.
 */

/** A value the encoder accepts. Map keys keep their insertion order. */
export type CborInput = number | string | Uint8Array | null | CborInput[] | Map<number | string, CborInput>;

function head(out: number[], major: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('CBOR argument must be a non-negative safe integer');
  if (n < 24) out.push((major << 5) | n);
  else if (n < 0x100) out.push((major << 5) | 24, n);
  else if (n < 0x10000) out.push((major << 5) | 25, n >> 8, n & 0xff);
  else if (n < 0x100000000) out.push((major << 5) | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  else {
    const hi = Math.floor(n / 0x100000000);
    const lo = n >>> 0;
    out.push((major << 5) | 27, (hi >>> 24) & 0xff, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, (lo >>> 24) & 0xff, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff);
  }
}

function put(out: number[], value: CborInput): void {
  if (value === null) out.push(0xf6);
  else if (value instanceof Uint8Array) {
    head(out, 2, value.length);
    for (const b of value) out.push(b);
  } else if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value);
    head(out, 3, bytes.length);
    for (const b of bytes) out.push(b);
  } else if (typeof value === 'number') {
    if (value >= 0) head(out, 0, value);
    else head(out, 1, -1 - value);
  } else if (Array.isArray(value)) {
    head(out, 4, value.length);
    for (const v of value) put(out, v);
  } else {
    head(out, 5, value.size);
    for (const [k, v] of value) {
      put(out, k);
      put(out, v);
    }
  }
}

/** Encodes one value. */
export function encodeCbor(value: CborInput): Uint8Array {
  const out: number[] = [];
  put(out, value);
  return Uint8Array.from(out);
}
