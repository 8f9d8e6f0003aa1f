/** The sealed blob's byte codec: big-endian unsigned integers and length-prefixed fields, range-checked both ways. */
import { EnclaveWalletError } from '@enclave-wallet/proto';

/** One of each for every call: encoding and non-streaming decoding keep no state between calls. */
const ENCODER = new TextEncoder();
const DECODER = new TextDecoder('utf-8', { fatal: true });

const bad = (why: string): EnclaveWalletError => new EnclaveWalletError('BLOB_INVALID', `the sealed blob is not readable: ${why}`);

/** An unsigned integer field's value must fit it: nothing is masked or wrapped silently. */
function fits(n: number, max: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw new RangeError(`${what} out of range: ${n}`);
  return n;
}

export class Writer {
  private buf = new Uint8Array(256);
  private used = 0;
  private room(n: number): void {
    if (this.used + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.used + n));
    next.set(this.buf.subarray(0, this.used));
    this.buf.fill(0); // a blob's plaintext is written here too
    this.buf = next;
  }
  private byte(n: number): this {
    this.room(1);
    this.buf[this.used++] = n & 0xff;
    return this;
  }
  u8(n: number): this {
    return this.byte(fits(n, 0xff, 'u8'));
  }
  u16(n: number): this {
    fits(n, 0xffff, 'u16 (a field too long?)');
    return this.byte(n >> 8).byte(n);
  }
  u32(n: number): this {
    fits(n, 0xffffffff, 'u32');
    return this.byte(n >>> 24)
      .byte(n >>> 16)
      .byte(n >>> 8)
      .byte(n);
  }
  u64(n: number): this {
    fits(n, Number.MAX_SAFE_INTEGER, 'u64');
    return this.u32(Math.floor(n / 0x100000000)).u32(n >>> 0);
  }
  raw(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.used);
    this.used += b.length;
    return this;
  }
  bytes8(b: Uint8Array): this {
    if (b.length > 0xff) throw new RangeError('field too long');
    return this.u8(b.length).raw(b);
  }
  bytes16(b: Uint8Array): this {
    return this.u16(b.length).raw(b);
  }
  str16(s: string): this {
    return this.bytes16(ENCODER.encode(s));
  }
  get length(): number {
    return this.used;
  }
  /** The bytes written, in an array of their own; the writer's buffer is zeroed (it may have held a plaintext). */
  done(): Uint8Array {
    const out = this.buf.slice(0, this.used);
    this.buf.fill(0);
    return out;
  }
}

export class Reader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}
  private need(n: number): void {
    if (this.pos + n > this.b.length) throw bad('truncated');
  }
  u8(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return ((this.u16() << 16) >>> 0) + this.u16();
  }
  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    if (hi > 0x1fffff) throw bad('u64 out of range');
    return hi * 0x100000000 + lo;
  }
  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  bytes8(): Uint8Array {
    return this.raw(this.u8());
  }
  bytes16(): Uint8Array {
    return this.raw(this.u16());
  }
  bytes32(): Uint8Array {
    return this.raw(this.u32());
  }
  str16(): string {
    try {
      return DECODER.decode(this.bytes16());
    } catch (err) {
      if (err instanceof EnclaveWalletError) throw err;
      throw bad('text field is not UTF-8');
    }
  }
  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.b.length - this.pos;
  }
}
