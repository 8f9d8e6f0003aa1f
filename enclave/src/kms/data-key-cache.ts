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
import { SecretBytes } from '../secret.js';

export class DataKeyCache {
  private readonly entries = new Map<string, { key: SecretBytes; expires: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly maxEntries = 4096,
    readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
    readonly sweepMs = Math.min(ttlMs, 30_000),
  ) {}

  /** Zeroes and forgets every expired key; stops the timer once the cache is empty. */
  sweep(): void {
    const now = this.now();
    for (const [id, e] of this.entries) {
      if (e.expires > now) continue;
      e.key.dispose();
      this.entries.delete(id);
    }
    if (this.entries.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private id(ciphertextBlob: Uint8Array, context: Record<string, string>): string {
    const ctx = JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return toHex(sha256(ciphertextBlob)) + ctx;
  }

  /** A copy of the cached key, or undefined. */
  get(ciphertextBlob: Uint8Array, context: Record<string, string>): Uint8Array | undefined {
    const id = this.id(ciphertextBlob, context);
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (this.now() >= e.expires) {
      e.key.dispose();
      this.entries.delete(id);
      return undefined;
    }
    return SecretBytes.copyOf(e.key);
  }

  /** Keeps a copy of `key` (the caller keeps and zeroes its own). */
  put(ciphertextBlob: Uint8Array, context: Record<string, string>, key: Uint8Array): void {
    const id = this.id(ciphertextBlob, context);
    this.entries.get(id)?.key.dispose();
    this.entries.delete(id);
    this.entries.set(id, { key: SecretBytes.copyOf(key), expires: this.now() + this.ttlMs });
    this.timer ??= setInterval(() => this.sweep(), this.sweepMs).unref();
    const now = this.now();
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && e.expires > now) break;
      e.key.dispose();
      this.entries.delete(k);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Zeroes and forgets every key. */
  clear(): void {
    for (const e of this.entries.values()) e.key.dispose();
    this.entries.clear();
    this.sweep();
  }
}
