/**
 * A small, strict CBOR decoder (RFC 8949) for attestation documents. It
 * accepts definite- and indefinite-length strings, arrays and maps (the real
 * Nitro payload uses an indefinite-length map), returns maps as `Map`s so
 * integer keys (PCR indexes) keep their type, and refuses anything outside the
 * data model a COSE_Sign1 document needs. Uses no Node built-ins.
 */

/** A decoded CBOR value. */
export type CborValue = number | bigint | string | Uint8Array | boolean | null | undefined | CborValue[] | Map<CborValue, CborValue> | CborTagged;

/** A tagged value. */
export class CborTagged {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

/** The input is not CBOR this decoder accepts. */
export class CborError extends Error {
  override readonly name = 'CborError';
}

const MAX_DEPTH = 16;
const BREAK = Symbol('break');

/**
 * Decodes exactly one CBOR item filling all of `bytes`.
 *
 * @throws {CborError} on malformed, truncated or trailing input
 */
export function decodeCbor(bytes: Uint8Array): CborValue {
  const decoder = new Decoder(bytes);
  const value = decoder.item(0) as CborValue;
  if (decoder.pos !== bytes.length) throw new CborError(`${bytes.length - decoder.pos} trailing bytes after the CBOR item`);
  return value;
}

/** One pass over one input: a cursor, and a method per part of the grammar. */
class Decoder {
  pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  item(depth: number, allowBreak = false): CborValue | typeof BREAK {
    if (depth > MAX_DEPTH) throw new CborError('CBOR nested too deeply');
    this.need(1);
    const initial = this.bytes[this.pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (initial === 0xff) {
      if (!allowBreak) throw new CborError('unexpected break');
      return BREAK;
    }
    if (major === 7) return simpleValue(info);
    const arg = this.readArg(info);
    switch (major) {
      case 0:
        if (arg === null) throw new CborError('indefinite integer');
        return arg;
      case 1:
        if (arg === null) throw new CborError('indefinite integer');
        return typeof arg === 'bigint' ? -1n - arg : arg >= Number.MAX_SAFE_INTEGER ? -1n - BigInt(arg) : -1 - arg;
      case 2:
      case 3:
        return this.readString(major, arg, depth);
      case 4:
        return this.readArray(arg, depth);
      case 5:
        return this.readMap(arg, depth);
      case 6:
        if (arg === null || typeof arg === 'bigint') throw new CborError('bad tag');
        return new CborTagged(arg, this.item(depth + 1) as CborValue);
      default:
        throw new CborError('unreachable major type');
    }
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new CborError('truncated CBOR');
  }

  /** The argument of a head: a count or value, or null for an indefinite length. */
  private readArg(info: number): number | bigint | null {
    if (info < 24) return info;
    const width = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (info === 31) return null;
    if (width === 0) throw new CborError(`reserved additional information ${info}`);
    this.need(width);
    const at = this.pos;
    this.pos += width;
    if (width === 1) return this.bytes[at]!;
    if (width === 2) return this.view.getUint16(at);
    if (width === 4) return this.view.getUint32(at);
    const big = this.view.getBigUint64(at);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  private length(arg: number | bigint | null): number {
    if (typeof arg === 'bigint' || (arg !== null && arg > this.bytes.length)) throw new CborError('length exceeds input');
    return arg as number;
  }

  private readString(major: number, arg: number | bigint | null, depth: number): Uint8Array | string {
    let raw: Uint8Array;
    if (arg === null) raw = this.readChunks(major, depth);
    else {
      const n = this.length(arg);
      this.need(n);
      raw = this.bytes.slice(this.pos, this.pos + n);
      this.pos += n;
    }
    if (major === 2) return raw;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new CborError('text string is not valid UTF-8');
    }
  }

  /** An indefinite-length string: definite chunks of the same major type up to a break. */
  private readChunks(major: number, depth: number): Uint8Array {
    const parts: Uint8Array[] = [];
    for (;;) {
      const part = this.item(depth + 1, true);
      if (part === BREAK) break;
      if ((major === 2 && !(part instanceof Uint8Array)) || (major === 3 && typeof part !== 'string')) {
        throw new CborError('indefinite string chunk of another type');
      }
      parts.push(typeof part === 'string' ? new TextEncoder().encode(part) : (part as Uint8Array));
    }
    const raw = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      raw.set(p, off);
      off += p.length;
    }
    return raw;
  }

  private readArray(arg: number | bigint | null, depth: number): CborValue[] {
    const out: CborValue[] = [];
    if (arg === null) {
      for (;;) {
        const v = this.item(depth + 1, true);
        if (v === BREAK) break;
        out.push(v);
      }
    } else {
      const n = this.length(arg);
      for (let i = 0; i < n; i++) out.push(this.item(depth + 1) as CborValue);
    }
    return out;
  }

  private readMap(arg: number | bigint | null, depth: number): Map<CborValue, CborValue> {
    const out = new Map<CborValue, CborValue>();
    const add = (k: CborValue, v: CborValue): void => {
      if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint') throw new CborError('map keys must be integers or text');
      if (out.has(k)) throw new CborError(`duplicate map key ${String(k)}`);
      out.set(k, v);
    };
    if (arg === null) {
      for (;;) {
        const k = this.item(depth + 1, true);
        if (k === BREAK) break;
        add(k, this.item(depth + 1) as CborValue);
      }
    } else {
      const n = this.length(arg);
      for (let i = 0; i < n; i++) add(this.item(depth + 1) as CborValue, this.item(depth + 1) as CborValue);
    }
    return out;
  }
}

/** Major type 7: the simple values a COSE document may hold; no floats. */
function simpleValue(info: number): CborValue {
  switch (info) {
    case 20:
      return false;
    case 21:
      return true;
    case 22:
      return null;
    case 23:
      return undefined;
    case 25:
    case 26:
    case 27:
      throw new CborError('floating-point values are not expected here');
    default:
      throw new CborError(`unsupported simple value ${info}`);
  }
}

/**
 * Deterministic CBOR (RFC 8949: definite lengths, shortest heads, map keys in
 * insertion order) of maps, arrays, text and byte strings, safe integers and
 * null: COSE's Sig_structure here, and whole attestation documents in the
 * simulated NSM (devtools), so that one encoder serves both.
 */
export function encodeCbor(value: CborValue): Uint8Array {
  const out: number[] = [];
  const head = (major: number, n: number): void => {
    if (!Number.isSafeInteger(n) || n < 0) throw new CborError('a CBOR argument must be a non-negative safe integer');
    if (n < 24) out.push((major << 5) | n);
    else if (n < 0x100) out.push((major << 5) | 24, n);
    else if (n < 0x10000) out.push((major << 5) | 25, n >> 8, n & 0xff);
    else if (n < 0x100000000) out.push((major << 5) | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
    else {
      const hi = Math.floor(n / 0x100000000);
      const lo = n >>> 0;
      out.push(
        (major << 5) | 27,
        (hi >>> 24) & 0xff,
        (hi >>> 16) & 0xff,
        (hi >>> 8) & 0xff,
        hi & 0xff,
        (lo >>> 24) & 0xff,
        (lo >>> 16) & 0xff,
        (lo >>> 8) & 0xff,
        lo & 0xff,
      );
    }
  };
  const put = (v: CborValue): void => {
    if (v === null) out.push(0xf6);
    else if (v instanceof Uint8Array) {
      head(2, v.length);
      for (const b of v) out.push(b);
    } else if (typeof v === 'string') {
      const b = new TextEncoder().encode(v);
      head(3, b.length);
      for (const x of b) out.push(x);
    } else if (Array.isArray(v)) {
      head(4, v.length);
      v.forEach(put);
    } else if (v instanceof Map) {
      head(5, v.size);
      for (const [k, x] of v) {
        put(k);
        put(x);
      }
    } else if (typeof v === 'number' && Number.isInteger(v)) {
      if (v >= 0) head(0, v);
      else head(1, -1 - v);
    } else {
      throw new CborError('unsupported value for this encoder');
    }
  };
  put(value);
  return Uint8Array.from(out);
}
