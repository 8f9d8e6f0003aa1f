/** The nonces of PIN envelopes seen within their lifetime: each is accepted once. */
import { EnclaveWalletError } from '@enclave-wallet/proto';

/** Clock skew tolerated between client and enclave, on top of the lifetime. */
export const CLOCK_SKEW_S = 30;

/**
 * Nonces seen within their lifetime. Bounded: refuses new envelopes rather
 * than forget live nonces; and no one user may hold more than `perUser` of
 * the live entries, so one account cannot fill the cache for everyone.
 */
export class ReplayCache {
  private readonly seen = new Map<string, { exp: number; sub: string }>();
  private readonly perSub = new Map<string, number>();
  constructor(
    private readonly maxEntries = 100_000,
    private readonly perUser = 1_000,
  ) {}

  /** Records `nonce` of user `sub` until `exp` (seconds); false when it was already seen. */
  claim(nonce: string, exp: number, nowSeconds: number, sub = ''): boolean {
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= this.maxEntries || (this.perSub.get(sub) ?? 0) >= this.perUser) this.expire(nowSeconds);
    if (this.seen.size >= this.maxEntries) throw new EnclaveWalletError('RATE_LIMITED', 'too many envelopes in flight; retry shortly', { retryAfter: 5 });
    if ((this.perSub.get(sub) ?? 0) >= this.perUser)
      throw new EnclaveWalletError('RATE_LIMITED', 'too many envelopes in flight for this user; retry shortly', { retryAfter: 5 });
    this.seen.set(nonce, { exp, sub });
    this.perSub.set(sub, (this.perSub.get(sub) ?? 0) + 1);
    return true;
  }

  private expire(nowSeconds: number): void {
    for (const [n, e] of this.seen) {
      if (e.exp >= nowSeconds - CLOCK_SKEW_S) continue;
      this.seen.delete(n);
      const left = (this.perSub.get(e.sub) ?? 1) - 1;
      if (left > 0) this.perSub.set(e.sub, left);
      else this.perSub.delete(e.sub);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
