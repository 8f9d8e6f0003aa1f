/**
 * Sharing one guess between concurrent requests that carry the same PIN (docs/guard.md): requests for the same
 * wallet with the same PIN that arrive while a guess with that PIN is in flight in this enclave join it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';
import type { Factor } from '../guard/guard.js';

/** What makes two guesses the same: the wallet, its owner, its version, the PIN (or code) and its factor. */
export interface GuessParts {
  walletId: WalletId;
  userId: UserId;
  version: number;
  pin: Uint8Array;
  factor?: Factor;
}

/**
 * Concurrent requests that would make the same guess share it: keyed by an HMAC (under a key of this process)
 * of the wallet, user, version and PIN, so the map holds nothing PIN-equivalent that outlives the process.
 * Each request gets its own copy of the result (`copy`); the shared one is disposed once every request has
 * taken its copy.
 */
export class SharedGuesses<T> {
  private readonly key = randomBytes(32);
  private readonly inFlight = new Map<string, { users: number; result: Promise<T> }>();

  constructor(private readonly dispose: (shared: T) => void) {}

  async join<U>(parts: GuessParts, start: () => Promise<T>, copy: (shared: T) => U): Promise<U> {
    const id = this.idOf(parts);
    let entry = this.inFlight.get(id);
    if (!entry) {
      const created = { users: 0, result: start() };
      entry = created;
      this.inFlight.set(id, created);
      // Registered first, so it runs before any request's continuation: no one joins a settled guess.
      created.result.then(
        () => this.inFlight.delete(id),
        () => this.inFlight.delete(id),
      );
    }
    entry.users++;
    try {
      return copy(await entry.result);
    } finally {
      if (--entry.users === 0) entry.result.then(this.dispose, () => undefined);
    }
  }

  /** How many guesses are in flight (for tests). */
  get size(): number {
    return this.inFlight.size;
  }

  private idOf(p: GuessParts): string {
    // node:crypto's HMAC takes the PIN as it is: no joined copy of it to zero.
    const label = `${p.factor ?? 'pin'}|${p.walletId.length}:${p.walletId}|${p.userId.length}:${p.userId}|${p.version}|`;
    return createHmac('sha256', this.key).update(label, 'utf8').update(p.pin).digest('hex');
  }
}
