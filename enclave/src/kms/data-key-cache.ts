/**
 * Data keys KMS released to this enclave, kept for a short while so that a
 * signature does not pay a KMS round trip (and KMS's attestation check) every
 * time. Bounded in count and lifetime; every copy handed out is the caller's
 * to zero, and entries are zeroed when they expire or are evicted. A key is
 * found only by the exact KMS ciphertext and encryption context KMS released
 * it for. Trade-off (docs/threat-model.md): a revoked key policy takes effect
 * for cached keys only when they expire (at most `ttlMs`). An expired key is
 * zeroed by a sweep that runs every `sweepMs` while the cache holds keys (an
 * unref'd timer: it never keeps the process up), not only when the cache is
 * next used: an idle enclave keeps no key past its lifetime plus one sweep.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '@enclave-wallet/proto/bytes';
import { BoundedCache } from '../cache.js';
import { SecretBytes } from '../secret.js';

export class DataKeyCache {
  private readonly entries: BoundedCache<string, SecretBytes>;

  constructor(maxEntries = 4096, ttlMs = 5 * 60_000, now: () => number = Date.now, sweepMs = Math.min(ttlMs, 30_000)) {
    this.entries = new BoundedCache({ maxEntries, ttlMs, sweepMs, now, onDrop: (key) => key.dispose() });
  }

  /** Zeroes and forgets every expired key; stops the timer once the cache is empty. */
  sweep(): void {
    this.entries.sweep();
  }

  private id(ciphertextBlob: Uint8Array, context: Record<string, string>): string {
    const ctx = JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return toHex(sha256(ciphertextBlob)) + ctx;
  }

  /** A copy of the cached key, or undefined. */
  get(ciphertextBlob: Uint8Array, context: Record<string, string>): Uint8Array | undefined {
    const key = this.entries.get(this.id(ciphertextBlob, context));
    return key && SecretBytes.copyOf(key);
  }

  /** Keeps a copy of `key` (the caller keeps and zeroes its own). */
  put(ciphertextBlob: Uint8Array, context: Record<string, string>, key: Uint8Array): void {
    this.entries.set(this.id(ciphertextBlob, context), SecretBytes.copyOf(key));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Zeroes and forgets every key. */
  clear(): void {
    this.entries.clear();
  }
}
