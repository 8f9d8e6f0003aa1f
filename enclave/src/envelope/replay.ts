/** The nonces of PIN envelopes seen within their lifetime: each is accepted once. */
import { EnclaveWalletError } from '@enclave-wallet/proto';

/** Clock skew tolerated between client and enclave, on top of the lifetime. */
export const CLOCK_SKEW_S = 30;

/** The most live nonces the enclave holds, all users together. */
export const REPLAY_CACHE_ENTRIES = 100_000;

/** The most live nonces one user may hold by default (ENCLAVE_ENVELOPES_PER_USER, docs/configuration.md). */
export const DEFAULT_ENVELOPES_PER_USER = 1_000;

/** A user's share of the cache: one record per user with live nonces, shared by all of them. */
interface Holder {
  readonly sub: string;
  held: number;
}

/**
 * Nonces seen within their lifetime. Bounded: refuses new envelopes rather
 * than forget live nonces; and no one user may hold more than `perUser` of
 * the live entries, so one account cannot fill the cache for everyone.
 *
 * Entries are kept in buckets by their expiry second, each a flat list of
 * (holder, nonce) pairs, and dropped a bucket at a time, at most once per
 * second of the clock (an envelope lives at most 5 minutes, so a few hundred
 * buckets). A user's id is kept once, in its holder record, however many
 * nonces it holds. A full cache of 100,000 nonces takes 9–12 MiB of heap:
 * 93 bytes a nonce for one user or a hundred, 97 for 10,000, 122 when each
 * of 100,000 users holds one (measured 2026-12-06 on Node 20 and 24; 151 to
 * 188 with the user's id copied into every entry, as until then, and 87 to
 * 269 with a map of users in every bucket, as for a few hours that day).
 *
 * The clock only goes forward here: a `now` earlier than one seen before is
 * taken as that one (`monotonic`), so a wall clock set back cannot make an
 * envelope whose nonce was already dropped look unexpired again.
 *
 * Until 2026-12-03 expired entries were dropped only when a limit was
 * reached, by a pass over the whole cache: it grew to 100,000 entries
 * (≈ 18 MB) under a steady load before its first pass, and a user at the
 * per-user limit made every further request of theirs pay such a pass before
 * its refusal.
 */
export class ReplayCache {
  private readonly seen = new Set<string>();
  private readonly holders = new Map<string, Holder>();
  /** exp (seconds) → [holder, nonce, holder, nonce, …]. */
  private readonly byExpiry = new Map<number, Array<Holder | string>>();
  private sweptAt = -Infinity;
  private latest = -Infinity;
  constructor(
    private readonly maxEntries = REPLAY_CACHE_ENTRIES,
    private readonly perUser = DEFAULT_ENVELOPES_PER_USER,
  ) {}

  /** `nowSeconds`, or the latest time this cache has seen if that is later: the clock every check of an envelope uses. */
  monotonic(nowSeconds: number): number {
    if (nowSeconds > this.latest) this.latest = nowSeconds;
    return this.latest;
  }

  /** Records `nonce` of user `sub` until `exp` (seconds); false when it was already seen. */
  claim(nonce: string, exp: number, nowSeconds: number, sub = ''): boolean {
    const now = this.monotonic(nowSeconds);
    if (now !== this.sweptAt) this.expire(now);
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= this.maxEntries) throw new EnclaveWalletError('RATE_LIMITED', 'too many envelopes in flight; retry shortly', { retryAfter: 5 });
    let holder = this.holders.get(sub);
    if (holder && holder.held >= this.perUser)
      throw new EnclaveWalletError('RATE_LIMITED', 'too many envelopes in flight for this user; retry shortly', { retryAfter: 5 });
    if (!holder) this.holders.set(sub, (holder = { sub, held: 0 }));
    holder.held++;
    this.seen.add(nonce);
    const bucket = this.byExpiry.get(exp);
    if (bucket) bucket.push(holder, nonce);
    else this.byExpiry.set(exp, [holder, nonce]);
    return true;
  }

  /** Drops every entry whose expiry, with the clock skew tolerated, has passed. */
  private expire(nowSeconds: number): void {
    this.sweptAt = nowSeconds;
    for (const [exp, bucket] of this.byExpiry) {
      if (exp >= nowSeconds - CLOCK_SKEW_S) continue;
      this.byExpiry.delete(exp);
      for (let i = 0; i < bucket.length; i += 2) {
        const holder = bucket[i] as Holder;
        this.seen.delete(bucket[i + 1] as string);
        if (--holder.held === 0) this.holders.delete(holder.sub);
      }
    }
  }

  get size(): number {
    return this.seen.size;
  }

  /** Live nonces `sub` holds. */
  heldBy(sub: string): number {
    return this.holders.get(sub)?.held ?? 0;
  }
}
