/** The nonces of PIN envelopes seen within their lifetime: each is accepted once. */
import { EnclaveWalletError } from '@enclave-wallet/proto';

/** Clock skew tolerated between client and enclave, on top of the lifetime. */
export const CLOCK_SKEW_S = 30;

/**
 * Nonces seen within their lifetime. Bounded: refuses new envelopes rather
 * than forget live nonces; and no one user may hold more than `perUser` of
 * the live entries, so one account cannot fill the cache for everyone.
 *
 * Entries are kept in buckets by their expiry second and dropped a bucket at
 * a time, at most once per second of the clock (an envelope lives at most
 * 5 minutes, so a few hundred buckets). Until 2026-12-03 expired entries were
 * dropped only when a limit was reached, by a pass over the whole cache: it
 * grew to 100,000 entries (≈ 18 MB) under a steady load before its first
 * pass, and a user at the per-user limit made every further request of theirs
 * pay such a pass before its refusal.
 */
export class ReplayCache {
  private readonly seen = new Map<string, string>(); // nonce → sub
  private readonly perSub = new Map<string, number>();
  private readonly byExpiry = new Map<number, string[]>(); // exp (seconds) → nonces
  private sweptAt = -Infinity;
  constructor(
    private readonly maxEntries = 100_000,
    private readonly perUser = 1_000,
  ) {}

  /** Records `nonce` of user `sub` until `exp` (seconds); false when it was already seen. */
  claim(nonce: string, exp: number, nowSeconds: number, sub = ''): boolean {
    if (nowSeconds !== this.sweptAt) this.expire(nowSeconds);
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= this.maxEntries) throw new EnclaveWalletError('RATE_LIMITED', 'too many envelopes in flight; retry shortly', { retryAfter: 5 });
    if ((this.perSub.get(sub) ?? 0) >= this.perUser)
      throw new EnclaveWalletError('RATE_LIMITED', 'too many envelopes in flight for this user; retry shortly', { retryAfter: 5 });
    this.seen.set(nonce, sub);
    this.perSub.set(sub, (this.perSub.get(sub) ?? 0) + 1);
    const bucket = this.byExpiry.get(exp);
    if (bucket) bucket.push(nonce);
    else this.byExpiry.set(exp, [nonce]);
    return true;
  }

  /** Drops every entry whose expiry, with the clock skew tolerated, has passed. */
  private expire(nowSeconds: number): void {
    this.sweptAt = nowSeconds;
    for (const [exp, nonces] of this.byExpiry) {
      if (exp >= nowSeconds - CLOCK_SKEW_S) continue;
      this.byExpiry.delete(exp);
      for (const n of nonces) {
        const sub = this.seen.get(n)!;
        this.seen.delete(n);
        const left = (this.perSub.get(sub) ?? 1) - 1;
        if (left > 0) this.perSub.set(sub, left);
        else this.perSub.delete(sub);
      }
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
