/**
 * Right guesses whose clear is not written yet (docs/guard.md, "One write per signature"): the next guess counted
 * on the same wallet and budget in this enclave carries them in its own write; a timer writes the rest when due
 * (CLEAR_DELAY_MS in guesses.ts), and a re-seal or a graceful stop writes them at once. Giving guesses back is all a
 * clear does, so holding one back only ever leaves the budget smaller.
 */
import type { WalletId } from '@enclave-wallet/proto/ids';
import { GuardConflict, guessesOf, withoutGuesses, type CarriedClears, type Factor, type GuardRecord, type WalletGuard } from '../guard/guard.js';

/** A right guess to clear: its token, the failures it saw when it was counted, its factor, when it was answered. */
export interface RightGuess {
  token: string;
  failures: readonly string[];
  factor: Factor;
  at: number;
}

/** A right guess whose clear is not written yet, and how to tell its caller once it is. */
export interface PendingClear extends RightGuess {
  done: (err?: unknown) => void;
  /** Its place in the order clears were held (`mark`). */
  seq: number;
}

/** What a count carries: the right guesses' tokens, the failures they saw, their last use. */
export function carriedOf(list: readonly PendingClear[]): CarriedClears | undefined {
  if (!list.length) return undefined;
  // Loops, not map and flatMap: this runs at every count (see carriedClears in guard/item.ts).
  const tokens: string[] = [];
  const failures: string[] = [];
  let usedAt = -Infinity;
  for (const c of list) {
    tokens.push(c.token);
    for (const f of c.failures) failures.push(f);
    if (c.at > usedAt) usedAt = c.at;
  }
  return { tokens, failures, usedAt };
}

/** At most this many tokens leave with a count (each adds a name and a condition to its expression). */
export const MAX_CARRIED = 32;

export class UnwrittenClears {
  private readonly byWallet = new Map<WalletId, PendingClear[]>();
  private readonly timers = new Map<WalletId, NodeJS.Timeout>();
  /** Flushes under way (a graceful stop waits for them too). */
  private readonly writing = new Set<Promise<void>>();
  /** Clears taken out by counts whose write is under way: written with it, or put back (a graceful stop waits). */
  private readonly carrying = new Set<number>(); // by seq: settleGone keeps copies of a clear, with its seq and done
  /** Who waits for a carried clear to be written or put back (flushAll). */
  private waiters: Array<() => void> = [];
  /** How many clears have been held so far: each is stamped with its number (`seq`). */
  private held = 0;

  constructor(
    private readonly guard: WalletGuard,
    private readonly delayMs: number,
    private readonly forget: (walletId: WalletId) => void,
  ) {}

  /** Holds a right guess's clear; resolves once it is written (carried or on its own), rejects if the guard failed. */
  add(walletId: WalletId, guess: RightGuess): Promise<void> {
    const written = new Promise<void>((resolve, reject) => {
      const list = this.byWallet.get(walletId) ?? [];
      const seq = ++this.held;
      list.push({
        ...guess,
        seq,
        done: (err) => {
          this.uncarry([seq]);
          if (err) reject(err);
          else resolve();
        },
      });
      this.byWallet.set(walletId, list);
    });
    this.schedule(walletId);
    return written;
  }

  /**
   * The clears of `factor` on `walletId`, taken out to be carried by a count (call done or putBack after it).
   * Undefined when they would remove more than MAX_CARRIED tokens (DynamoDB's 4 KB expression limit): the count
   * must then have them written on their own first (flush), since the guard still holds them.
   */
  take(walletId: WalletId, factor: Factor): PendingClear[] | undefined {
    const list = this.byWallet.get(walletId);
    if (!list) return [];
    const taken = list.filter((c) => c.factor === factor);
    if (new Set(taken.flatMap((c) => [c.token, ...c.failures])).size > MAX_CARRIED) return undefined;
    this.set(
      walletId,
      list.filter((c) => c.factor !== factor),
    );
    for (const c of taken) this.carrying.add(c.seq);
    return taken;
  }

  /** Clears a count did not write (its write failed): back in the list, still due. */
  putBack(walletId: WalletId, carried: PendingClear[]): void {
    if (!carried.length) return;
    this.byWallet.set(walletId, [...(this.byWallet.get(walletId) ?? []), ...carried]);
    this.schedule(walletId);
    this.uncarry(carried.map((c) => c.seq));
  }

  /** To take before a read of the guard starts, and give to `settleGone` with what it read. */
  mark(): number {
    return this.held;
  }

  /**
   * After a fresh read, started at `mark`: a clear whose token the guard no longer holds (another write removed it)
   * has nothing left to clear; the others keep only the failures still there (a count requires every token it
   * carries to be there). Only clears held before the read started are judged: a read under way while a guess was
   * counted, answered and held here may have been served before that count's write, and would show its token
   * missing though the guard holds it (the clear was then dropped unwritten, and the right guess stayed pending in
   * the guard until its TTL made it a failure: seen with 16 passkey signatures at once, 2026-12-04).
   */
  settleGone(walletId: WalletId, read: GuardRecord, mark: number): void {
    const list = this.byWallet.get(walletId);
    if (!list) return;
    const kept: PendingClear[] = [];
    for (const c of list) {
      if (c.seq > mark) {
        kept.push(c);
        continue;
      }
      const held = guessesOf(read, c.factor);
      if (held.has(c.token)) kept.push({ ...c, failures: c.failures.filter((f) => held.has(f)) });
      else c.done();
    }
    this.set(walletId, kept);
  }

  /** A record read from the guard as this enclave counts from it: its unwritten clears applied. */
  applied(read: GuardRecord): GuardRecord {
    let record = read;
    for (const c of this.byWallet.get(read.walletId) ?? []) record = withoutGuesses(record, c.factor, [c.token, ...c.failures]);
    return record;
  }

  /**
   * Writes the clears of `walletId`, each on its own. A clear whose token is gone has nothing to clear; one the
   * guard failed leaves its guess counted (fail closed) and rejects its caller.
   */
  async flush(walletId: WalletId): Promise<void> {
    this.unschedule(walletId);
    const list = this.byWallet.get(walletId) ?? [];
    this.byWallet.delete(walletId);
    const writing = this.write(walletId, list);
    this.writing.add(writing);
    try {
      await writing;
    } finally {
      this.writing.delete(writing);
    }
  }

  /**
   * Writes every clear held, and waits for those being written (a graceful stop): those flushed, and those a
   * count under way carries, which its write settles (the guard's requests have a deadline) or puts back, and then
   * they are flushed here, as are clears held meanwhile. It returns once nothing is held, carried or being written.
   * Before, a count whose write failed after the stop had flushed put its clears back into a process about to
   * exit, and those right guesses stayed counted.
   */
  async flushAll(): Promise<void> {
    for (;;) {
      await Promise.all([...[...this.byWallet.keys()].map((w) => this.flush(w)), ...this.writing]);
      // Put back or held while those writes ran: written in the next round.
      if (this.byWallet.size || this.writing.size) continue;
      if (!this.carrying.size) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private async write(walletId: WalletId, list: PendingClear[]): Promise<void> {
    const writes: Array<Promise<void>> = [];
    for (const c of list) writes.push(this.writeOne(walletId, c));
    await Promise.all(writes);
  }

  private async writeOne(walletId: WalletId, c: PendingClear): Promise<void> {
    try {
      await this.guard.clear(walletId, c.token, c.failures, c.factor, c.at);
      c.done();
    } catch (err) {
      this.forget(walletId);
      c.done(err instanceof GuardConflict ? undefined : err);
    }
  }

  /** Carried clears settled (written, or put back): whoever waits looks again. */
  private uncarry(seqs: readonly number[]): void {
    let settled = false;
    for (const seq of seqs) settled = this.carrying.delete(seq) || settled;
    if (!settled) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /**
   * A wallet's held clears, after a count took some (`take`) or a read judged them (`settleGone`). With none left the
   * timer goes too, so that a clear held after them waits its own delay to be carried, rather than being written
   * alone when their time is up.
   */
  private set(walletId: WalletId, list: PendingClear[]): void {
    if (list.length) this.byWallet.set(walletId, list);
    else {
      this.byWallet.delete(walletId);
      this.unschedule(walletId);
    }
  }

  private unschedule(walletId: WalletId): void {
    const timer = this.timers.get(walletId);
    if (timer) clearTimeout(timer);
    this.timers.delete(walletId);
  }

  private schedule(walletId: WalletId): void {
    if (this.timers.has(walletId)) return;
    const timer = setTimeout(() => void this.flush(walletId), this.delayMs);
    timer.unref();
    this.timers.set(walletId, timer);
  }
}
