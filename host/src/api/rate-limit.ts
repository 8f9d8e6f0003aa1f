/** Fixed-window rate limits per key (client address or user), in memory. */
import { EnclaveWalletError } from '@enclave-wallet/proto';

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** @throws {EnclaveWalletError} RATE_LIMITED with retryAfter */
  hit(key: string): void {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      if (this.windows.size > 100_000) for (const [k, v] of this.windows) if (now - v.start >= this.windowMs) this.windows.delete(k);
    }
    w.count += 1;
    if (w.count > this.limit) throw new EnclaveWalletError('RATE_LIMITED', 'too many requests', { retryAfter: Math.ceil((w.start + this.windowMs - now) / 1000) });
  }
}
