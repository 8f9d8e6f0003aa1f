/**
 * The enclave's one type for secret bytes (PINs, stretched PINs, data keys,
 * seed keys, entropy, seeds, private keys): a Uint8Array that
 *
 * - owns its memory: never a view of Node's shared Buffer pool (where a copy
 *   could outlive the secret and be handed to the next small Buffer), so
 *   zeroing it zeroes the only copy this code made;
 * - is zeroed by `dispose()` or at the end of a `using` block
 *   (`[Symbol.dispose]`), and stays zero;
 * - refuses to be serialised (`JSON.stringify` throws) and prints as
 *   `[secret N bytes]` (console, util.inspect, template strings), so it cannot
 *   reach a log or an answer by accident.
 *
 * What JavaScript cannot promise: libraries (noble's curves, BIP-39's word
 * list) make copies of their own as BigInts, strings or small typed arrays
 * in the JavaScript heap, which the garbage collector moves and frees without
 * zeroing; native code keeps copies while it runs; strings cannot be zeroed
 * at all (docs/threat-model.md, "Secrets in memory").
 */
import { inspect } from 'node:util';

export class SecretBytes extends Uint8Array {
  /**
   * `new SecretBytes(length)` (also what `slice()` calls) allocates an ArrayBuffer of its own: outside the
   * JavaScript heap, so never moved by the garbage collector. (`new Uint8Array(n)` with n ≤ 64 puts the bytes
   * in the heap, where a scavenge copies them and leaves the old copy behind, unzeroed.)
   */
  constructor(lengthOrBuffer: number | ArrayBuffer, byteOffset?: number, length?: number) {
    if (typeof lengthOrBuffer === 'number') super(new ArrayBuffer(lengthOrBuffer));
    else super(lengthOrBuffer, byteOffset, length);
  }

  /** A new zeroed secret of `length` bytes, in memory of its own. */
  static alloc(length: number): SecretBytes {
    return new SecretBytes(length);
  }

  /** A copy of `bytes` in memory of its own; the caller still owns (and zeroes) `bytes`. */
  static copyOf(bytes: Uint8Array): SecretBytes {
    const s = new SecretBytes(bytes.length);
    s.set(bytes);
    return s;
  }

  /** Takes `bytes` over: copies them into memory of its own and zeroes the original. */
  static adopt(bytes: Uint8Array): SecretBytes {
    const s = SecretBytes.copyOf(bytes);
    bytes.fill(0);
    return s;
  }

  /** Zeroes the bytes. Idempotent. */
  dispose(): void {
    this.fill(0);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toJSON(): never {
    throw new TypeError('a secret cannot be serialised');
  }

  override toString(): string {
    return `[secret ${this.length} bytes]`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Zeroes every given secret (undefined ones skipped). */
export function disposeAll(...secrets: Array<Uint8Array | undefined>): void {
  for (const s of secrets) s?.fill(0);
}
