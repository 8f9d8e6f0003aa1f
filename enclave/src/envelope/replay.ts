/** The nonces of PIN envelopes seen within their lifetime: each is accepted once. */
import { EnclaveWalletError } from '@enclave-wallet/proto';

/** Clock skew tolerated between client and enclave, on top of the lifetime. */
export const CLOCK_SKEW_S = 30;

/** The most live nonces the enclave holds, all users together. */
export const REPLAY_CACHE_ENTRIES = 100_000;

/** The most live nonces one user may hold by default (ENCLAVE_ENVELOPES_PER_USER, docs/configuration.md). */
export const DEFAULT_ENVELOPES_PER_USER = 1_000;

/**
 * Nonces seen within their lifetime. Bounded: refuses new envelopes rather
 * than forget live nonces; and no one user may hold more than `perUser` of
 * the live entries, so one account cannot fill the cache for everyone.
 *
 * Entries are kept in buckets by their expiry second, and in a bucket by
 * user, and dropped a bucket at a time, at most once per second of the clock
 * (an envelope lives at most 5 minutes, so a few hundred buckets). A nonce
 * costs its string and its slots in the set and its bucket's list: 86 bytes
 * a nonce in a full cache, 8.2 MiB (measured 2026-12-06 on Node 20; 145
 * bytes when each entry also kept its own copy of the user's id).
 *
 * Until 2026-12-03 expired entries were dropped only when a limit was
 * reached, by a pass over the whole cache: it grew to 100,000 entries
 * (≈ 18 MB) under a steady load before its first pass, and a user at the
 * per-user limit made every further request of theirs pay such a pass before
 * its refusal.
 */
export class ReplayCache {
  private readonly seen = new Set<string>();
  private readonly perSub = new Map<string, number>();
  /** exp (seconds) → sub → nonces. */
  private readonly byExpiry = new Map<number, Map<string, string[]>>();
  private sweptAt = -Infinity;
  constructor(
    private readonly maxEntries = REPLAY_CACHE_ENTRIES,
    private readonly perUser = DEFAULT_ENVELOPES_PER_USER,
  ) {}

  /** Records `nonce` of user `sub` until `exp` (seconds); false when it was already seen. */
  claim(nonce: string, exp: number, nowSeconds: number, sub = ''): boolean {
    if (nowSeconds !== this.sweptAt) this.expire(nowSeconds);
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= this.maxEntries) throw new EnclaveWalletError('RATE_LIMITED', 'too many envelopes in flight; retry shortly', { retryAfter: 5 });
    const held = this.perSub.get(sub) ?? 0;
    if (held >= this.perUser) throw new EnclaveWalletError('RATE_LIMITED', 'too many envelopes in flight for this user; retry shortly', { retryAfter: 5 });
    this.seen.add(nonce);
    this.perSub.set(sub, held + 1);
    let bucket = this.byExpiry.get(exp);
    if (!bucket) this.byExpiry.set(exp, (bucket = new Map()));
    const nonces = bucket.get(sub);
    if (nonces) nonces.push(nonce);
    else bucket.set(sub, [nonce]);
    return true;
  }

  /** Drops every entry whose expiry, with the clock skew tolerated, has passed. */
  private expire(nowSeconds: number): void {
    this.sweptAt = nowSeconds;
    for (const [exp, bucket] of this.byExpiry) {
      if (exp >= nowSeconds - CLOCK_SKEW_S) continue;
      this.byExpiry.delete(exp);
      for (const [sub, nonces] of bucket) {
        for (const n of nonces) this.seen.delete(n);
        const left = (this.perSub.get(sub) ?? nonces.length) - nonces.length;
        if (left > 0) this.perSub.set(sub, left);
        else this.perSub.delete(sub);
      }
    }
  }

  get size(): number {
    return this.seen.size;
  }

  /** Live nonces `sub` holds. */
  heldBy(sub: string): number {
    return this.perSub.get(sub) ?? 0;
  }
}
