/**
 * The NSM's messages, as CBOR. The Nitro Secure Module takes and answers the
 * `Request` / `Response` enums of aws-nitro-enclaves-nsm-api, serialised by
 * serde_cbor: a unit variant is its name as a text string (`"GetRandom"`), a
 * struct variant a one-entry map from its name to a map of its fields in
 * declaration order (`{"DescribePCR": {"index": 3}}`), `None` is null, byte
 * fields are byte strings. Only what those messages use is read: unsigned
 * integers, byte and text strings, arrays, maps with text keys, true, false
 * and null, all of definite length. Anything else is refused.
 */

/** A CBOR value the NSM's messages use. */
export type NsmValue = number | boolean | null | string | Uint8Array | NsmValue[] | NsmMap;
/** A map with text keys, in the order they came (a null-prototype object). */
export interface NsmMap {
  [key: string]: NsmValue;
}

/** A CBOR value to encode: a map is given as an ordered list of [key, value]. */
export type NsmInput = number | null | string | Uint8Array | { entries: [string, NsmInput][] };

const MAX_DEPTH = 8;

function head(out: number[], major: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`CBOR length or integer out of range: ${n}`);
  const m = major << 5;
  if (n < 24) out.push(m | n);
  else if (n < 0x100) out.push(m | 24, n);
  else if (n < 0x10000) out.push(m | 25, n >> 8, n & 0xff);
  else out.push(m | 26, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

function encodeInto(out: number[], value: NsmInput): void {
  if (value === null) out.push(0xf6);
  else if (typeof value === 'number') head(out, 0, value);
  else if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value);
    head(out, 3, bytes.length);
    for (const b of bytes) out.push(b);
  } else if (value instanceof Uint8Array) {
    head(out, 2, value.length);
    for (const b of value) out.push(b);
  } else {
    head(out, 5, value.entries.length);
    for (const [k, v] of value.entries) {
      encodeInto(out, k);
      encodeInto(out, v);
    }
  }
}

/** The CBOR encoding of `value` (shortest heads, definite lengths, map entries in the given order). */
export function encodeNsm(value: NsmInput): Uint8Array {
  const out: number[] = [];
  encodeInto(out, value);
  return Uint8Array.from(out);
}

/** A struct variant of the request enum: `{ name: { field: value, ... } }`. */
export const variant = (name: string, fields: [string, NsmInput][]): NsmInput => ({ entries: [[name, { entries: fields }]] });

/**
 * Decodes one CBOR value that fills `bytes` exactly.
 *
 * @throws {Error} on anything malformed, outside the subset above, or followed by more bytes
 */
export function decodeNsm(bytes: Uint8Array): NsmValue {
  let at = 0;
  const need = (n: number): void => {
    if (n > bytes.length - at) throw new Error('CBOR: truncated');
  };
  const argument = (info: number): number => {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) throw new Error('CBOR: indefinite lengths and reserved values are not accepted');
    need(size);
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + bytes[at++]!;
    if (!Number.isSafeInteger(n)) throw new Error('CBOR: integer too large');
    return n;
  };
  const take = (n: number): Uint8Array => {
    need(n);
    at += n;
    return bytes.slice(at - n, at);
  };
  const item = (depth: number): NsmValue => {
    if (depth > MAX_DEPTH) throw new Error('CBOR: nested too deeply');
    need(1);
    const initial = bytes[at++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      throw new Error(`CBOR: simple value or float 0x${initial.toString(16)} not accepted`);
    }
    const n = argument(info);
    switch (major) {
      case 0:
        return n;
      case 2:
      case 3:
        return major === 2 ? take(n) : text(take(n));
      case 4:
        return Array.from({ length: n }, () => item(depth + 1));
      case 5:
        return mapOf(n, () => item(depth + 1));
      default:
        throw new Error(`CBOR: major type ${major} not accepted`);
    }
  };
  const value = item(0);
  if (at !== bytes.length) throw new Error('CBOR: bytes after the value');
  return value;
}

function text(raw: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new Error('CBOR: text is not UTF-8');
  }
}

/** A map of `n` entries read by `next` (key, value, key, …): text keys, each once, in an object without a prototype. */
function mapOf(n: number, next: () => NsmValue): NsmMap {
  const map = Object.create(null) as NsmMap;
  for (let i = 0; i < n; i++) {
    const key = next();
    if (typeof key !== 'string') throw new Error('CBOR: map keys must be text');
    if (key in map) throw new Error(`CBOR: duplicate key ${key}`);
    map[key] = next();
  }
  return map;
}
