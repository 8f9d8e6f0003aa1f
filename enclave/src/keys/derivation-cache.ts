import { createHmac, randomBytes } from 'node:crypto';
import { BoundedCache } from '../cache.js';

/**
 * What derivation computes that is public (the public keys of the parents of
 * non-hardened BIP-32 steps, and account addresses), remembered by wallet,
 * so that signing with a wallet this enclave has seen needs no point
 * multiplication besides the signature itself (three for an EVM account:
 * ≈ 2.5 ms). Entries are keyed by HMAC-SHA256 of the seed under a key made
 * at start-up that never leaves the process, so a key says nothing about the
 * seed, and a value is only ever used with the seed it was computed from.
 * Values are public keys and addresses, never private keys or chain codes.
 * Bounded (oldest dropped first).
 */
export class PublicDerivationCache {
  private readonly key = randomBytes(32);
  private readonly entries: BoundedCache<string, Uint8Array | string>;
  /** Lookups answered from the cache, and computed. */
  readonly stats = { hits: 0, misses: 0 };

  constructor(maxEntries = 8192) {
    this.entries = new BoundedCache({ maxEntries });
  }

  /** The tag under which a seed's entries are kept. */
  tagOf(seed: Uint8Array): string {
    return createHmac('sha256', this.key).update(seed).digest('base64');
  }

  remember<T extends Uint8Array | string>(tag: string, what: string, compute: () => T): T {
    const id = `${tag} ${what}`;
    const known = this.entries.get(id);
    if (known !== undefined) {
      this.stats.hits++;
      return known as T;
    }
    this.stats.misses++;
    const value = compute();
    this.entries.set(id, value);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }
}
