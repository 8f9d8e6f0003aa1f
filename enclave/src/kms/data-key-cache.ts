/**
 * Data keys KMS released to this enclave, kept for a short while so that a
 * signature does not pay a KMS round trip (and KMS's attestation check) every
 * time. Bounded in count and lifetime; every copy handed out is the caller's
 * to zero, and entries are zeroed when they expire or are evicted. A key is
 * found only by the exact KMS ciphertext and encryption context KMS released
 * it for. Trade-off (docs/threat-model.md): a revoked key policy takes effect
 * for cached keys only when they expire (at most `ttlMs`).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export class DataKeyCache {
  private readonly entries = new Map<string, { key: Uint8Array; expires: number }>();

  constructor(
    readonly maxEntries = 4096,
    readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  private id(ciphertextBlob: Uint8Array, context: Record<string, string>): string {
    const ctx = JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return bytesToHex(sha256(ciphertextBlob)) + ctx;
  }

  /** A copy of the cached key, or undefined. */
  get(ciphertextBlob: Uint8Array, context: Record<string, string>): Uint8Array | undefined {
    const id = this.id(ciphertextBlob, context);
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (this.now() >= e.expires) {
      e.key.fill(0);
      this.entries.delete(id);
      return undefined;
    }
    return Uint8Array.from(e.key);
  }

  /** Keeps a copy of `key` (the caller keeps and zeroes its own). */
  put(ciphertextBlob: Uint8Array, context: Record<string, string>, key: Uint8Array): void {
    const id = this.id(ciphertextBlob, context);
    this.entries.get(id)?.key.fill(0);
    this.entries.delete(id);
    this.entries.set(id, { key: Uint8Array.from(key), expires: this.now() + this.ttlMs });
    const now = this.now();
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && e.expires > now) break;
      e.key.fill(0);
      this.entries.delete(k);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Zeroes and forgets every key. */
  clear(): void {
    for (const e of this.entries.values()) e.key.fill(0);
    this.entries.clear();
  }
}
