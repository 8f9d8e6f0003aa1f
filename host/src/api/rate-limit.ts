/** Fixed-window rate limits per key (client network or user), in memory, bounded. */
import { isIP } from 'node:net';
import { EnclaveWalletError } from '@enclave-wallet/proto';

export class RateLimiter {
  /** Ordered by window start (a key is re-inserted when its window starts), so expired entries sit at the front. */
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** @throws {EnclaveWalletError} RATE_LIMITED with retryAfter */
  hit(key: string): void {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      this.windows.delete(key);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
      // Drop expired windows from the front; past the bound, the oldest window goes even if live.
      for (const [k, v] of this.windows) {
        if (now - v.start < this.windowMs && this.windows.size <= this.maxKeys) break;
        this.windows.delete(k);
      }
    }
    w.count += 1;
    if (w.count > this.limit)
      throw new EnclaveWalletError('RATE_LIMITED', 'too many requests', { retryAfter: Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000)) });
  }

  get size(): number {
    return this.windows.size;
  }
}

/**
 * The rate-limit key of a client: its address as the nearest trusted proxy
 * saw it (`trustedHops` load balancers in front of the host append to
 * X-Forwarded-For; with 0 the socket address is used and the header is
 * ignored, since anyone can send it), IPv4-mapped IPv6 as IPv4, and IPv6
 * reduced to its /64 (one subscriber's network).
 */
export function clientKey(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trustedHops: number): string {
  let address = socketAddress ?? '';
  if (trustedHops > 0) {
    const chain = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? ''))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    // The last `trustedHops` entries were written by our proxies; the one before them is the client as they saw it.
    const candidate = chain[chain.length - trustedHops];
    if (candidate && isIP(candidate)) address = candidate;
  }
  if (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4) address = address.slice(7);
  if (isIP(address) === 6) return `${ipv6Prefix64(address)}/64`;
  return address || 'unknown';
}

function ipv6Prefix64(address: string): string {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups
    .slice(0, 4)
    .map((g) => parseInt(g || '0', 16).toString(16))
    .join(':');
}
