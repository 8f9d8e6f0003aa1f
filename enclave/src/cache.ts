/**
 * The enclave's one cache: a map with a bound on its entries, a lifetime for
 * each, and a sweep. Entries leave oldest first when the bound is reached;
 * an expired entry is never returned, and is dropped by a sweep that runs
 * every `sweepMs` while the cache holds anything (an unref'd timer: it never
 * keeps the process up) as well as on use, so an idle enclave keeps nothing
 * past its lifetime plus one sweep. `onDrop` sees every value that leaves,
 * however it leaves (expiry, the bound, a replacement, `delete`, `clear`):
 * a cache of secrets disposes them there.
 *
 * The replay set of PIN envelopes (envelope/pin-envelope.ts) is not one of
 * these: it must refuse new entries rather than forget a live one.
 */

export interface CacheOptions<V> {
  /** At most this many entries; the oldest leave first. */
  maxEntries: number;
  /** Lifetime of an entry from when it was set; Infinity (the default) for none. */
  ttlMs?: number;
  /** How often the timer sweeps expired entries while there are any (default: the lifetime, at most 30 s; none without a lifetime). */
  sweepMs?: number;
  /** Called with every value that leaves the cache. */
  onDrop?: (value: V) => void;
  now?: () => number;
}

export class BoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();
  private timer: NodeJS.Timeout | undefined;
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly sweepMs: number;
  private readonly onDrop: (value: V) => void;
  private readonly now: () => number;

  constructor(options: CacheOptions<V>) {
    if (!(options.maxEntries >= 1)) throw new RangeError('a cache holds at least one entry');
    this.maxEntries = options.maxEntries;
    this.ttlMs = options.ttlMs ?? Infinity;
    this.sweepMs = options.sweepMs ?? (Number.isFinite(this.ttlMs) ? Math.min(this.ttlMs, 30_000) : Infinity);
    this.onDrop = options.onDrop ?? ((): void => undefined);
    this.now = options.now ?? Date.now;
  }

  /** The live value under `key`, or undefined (an expired one is dropped). */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() < entry.expires) return entry.value;
    this.drop(key, entry.value);
    return undefined;
  }

  /** Sets `key` as the newest entry (dropping what it held), then makes room: expired entries first, then the oldest. */
  set(key: K, value: V): void {
    const old = this.entries.get(key);
    if (old) this.drop(key, old.value);
    this.entries.set(key, { value, expires: this.now() + this.ttlMs });
    if (Number.isFinite(this.sweepMs)) this.timer ??= setInterval(() => this.sweep(), this.sweepMs).unref();
    const now = this.now();
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && e.expires > now) break;
      this.drop(k, e.value);
    }
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry) this.drop(key, entry.value);
  }

  /** Drops every expired entry; stops the timer once the cache is empty. */
  sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.drop(k, e.value);
    if (this.entries.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Drops every entry. */
  clear(): void {
    for (const [k, e] of this.entries) this.drop(k, e.value);
    this.sweep();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The values held, oldest first (expired ones included until they are swept). */
  values(): IterableIterator<V> {
    return Array.from(this.entries.values(), (e) => e.value)[Symbol.iterator]();
  }

  private drop(key: K, value: V): void {
    this.entries.delete(key);
    this.onDrop(value);
  }
}
