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
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;

  const need = (n: number): void => {
    if (pos + n > bytes.length) throw new CborError('truncated CBOR');
  };
  const readArg = (info: number): number | bigint | null => {
    if (info < 24) return info;
    switch (info) {
      case 24:
        need(1);
        return bytes[pos++]!;
      case 25:
        need(2);
        pos += 2;
        return view.getUint16(pos - 2);
      case 26:
        need(4);
        pos += 4;
        return view.getUint32(pos - 4);
      case 27: {
        need(8);
        pos += 8;
        const big = view.getBigUint64(pos - 8);
        return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
      }
      case 31:
        return null; // indefinite length
      default:
        throw new CborError(`reserved additional information ${info}`);
    }
  };
  const length = (arg: number | bigint | null): number => {
    if (typeof arg === 'bigint' || (arg !== null && arg > bytes.length)) throw new CborError('length exceeds input');
    return arg as number;
  };
  const readString = (major: number, arg: number | bigint | null, depth: number): Uint8Array | string => {
    let raw: Uint8Array;
    if (arg === null) {
      const parts: Uint8Array[] = [];
      for (;;) {
        const part = item(depth + 1, true);
        if (part === BREAK) break;
        if ((major === 2 && !(part instanceof Uint8Array)) || (major === 3 && typeof part !== 'string')) {
          throw new CborError('indefinite string chunk of another type');
        }
        parts.push(typeof part === 'string' ? new TextEncoder().encode(part) : (part as Uint8Array));
      }
      raw = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) {
        raw.set(p, off);
        off += p.length;
      }
    } else {
      const n = length(arg);
      need(n);
      raw = bytes.slice(pos, pos + n);
      pos += n;
    }
    if (major === 2) return raw;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new CborError('text string is not valid UTF-8');
    }
  };

  function item(depth: number, allowBreak = false): CborValue | typeof BREAK {
    if (depth > MAX_DEPTH) throw new CborError('CBOR nested too deeply');
    need(1);
    const initial = bytes[pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (initial === 0xff) {
      if (!allowBreak) throw new CborError('unexpected break');
      return BREAK;
    }
    if (major === 7) {
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
    const arg = readArg(info);
    switch (major) {
      case 0:
        if (arg === null) throw new CborError('indefinite integer');
        return arg;
      case 1:
        if (arg === null) throw new CborError('indefinite integer');
        return typeof arg === 'bigint' ? -1n - arg : arg >= Number.MAX_SAFE_INTEGER ? -1n - BigInt(arg) : -1 - arg;
      case 2:
      case 3:
        return readString(major, arg, depth);
      case 4: {
        const out: CborValue[] = [];
        if (arg === null) {
          for (;;) {
            const v = item(depth + 1, true);
            if (v === BREAK) break;
            out.push(v);
          }
        } else {
          const n = length(arg);
          for (let i = 0; i < n; i++) out.push(item(depth + 1) as CborValue);
        }
        return out;
      }
      case 5: {
        const out = new Map<CborValue, CborValue>();
        const add = (k: CborValue, v: CborValue): void => {
          if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint') throw new CborError('map keys must be integers or text');
          if (out.has(k)) throw new CborError(`duplicate map key ${String(k)}`);
          out.set(k, v);
        };
        if (arg === null) {
          for (;;) {
            const k = item(depth + 1, true);
            if (k === BREAK) break;
            add(k, item(depth + 1) as CborValue);
          }
        } else {
          const n = length(arg);
          for (let i = 0; i < n; i++) add(item(depth + 1) as CborValue, item(depth + 1) as CborValue);
        }
        return out;
      }
      case 6:
        if (arg === null || typeof arg === 'bigint') throw new CborError('bad tag');
        return new CborTagged(arg, item(depth + 1) as CborValue);
      default:
        throw new CborError('unreachable major type');
    }
  }

  const value = item(0) as CborValue;
  if (pos !== bytes.length) throw new CborError(`${bytes.length - pos} trailing bytes after the CBOR item`);
  return value;
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
