/**
 * Counting PIN guesses in the guard (docs/guard.md, rules in guard/budget.ts),
 * and sharing one guess between concurrent requests that carry the same PIN.
 *
 * A guess is counted under a fresh random token before its answer exists. A
 * sixth guess while five are counted waits (with a deadline) for one of them
 * to be answered, instead of being refused: five right PINs in flight are not
 * five failures. Requests for the same wallet with the same PIN that arrive
 * while a guess with that PIN is in flight in this enclave join it: one
 * count, one stretch, one answer for all (a repeated PIN tells an attacker
 * nothing new), so a batch of signatures costs one guess.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '@enclave-wallet/proto/bytes';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';
import { tally, wrongPinAnswer, type Guess, type Tally } from '../guard/budget.js';
import {
  counterRefuses,
  GuardConflict,
  guessesOf,
  withGuesses,
  type CarriedClears,
  type CounterRaise,
  type Factor,
  type GuardRecord,
  type WalletGuard,
} from '../guard/guard.js';
import { phases } from '../phases.js';

/**
 * How long a right guess's clear may wait to be carried by the next guess counted on its wallet here (one guard
 * write per signature instead of two, docs/guard.md); after that it is written on its own.
 */
export const CLEAR_DELAY_MS = 2_000;

/** How long a guess waits for a free place in the budget before WALLET_CONFLICT (retry). */
export const ADMISSION_WAIT_MS = 10_000;

/** A guess counted in the guard: its token, and the state it was counted against. */
export interface Counted {
  token: string;
  base: GuardRecord;
  tally: Tally;
  /** Whose budget: a PIN's, a recovery code's or the passkeys'. */
  factor: Factor;
  /**
   * A passkey counter asked to be raised with the count: true when the guard already held one as high (the
   * guess was then counted without raising it, and must be answered as a refusal).
   */
  counterStale?: boolean;
}

export interface GuessOptions {
  guard: WalletGuard;
  now: () => number;
  /** This enclave's last view of a wallet's record (a hint: every write is conditional). */
  remember(record: GuardRecord): void;
  forget(walletId: WalletId): void;
  /** CLEAR_DELAY_MS unless given; 0 writes each clear at once. */
  clearDelayMs?: number;
}

/** A right guess whose clear is not written yet: carried by the next count on its wallet, or written when due. */
interface PendingClear {
  token: string;
  failures: readonly string[];
  factor: Factor;
  at: number;
  done: (err?: unknown) => void;
}

/** What a count carries: the right guesses' tokens, the failures they saw, their last use. */
const carriedOf = (list: readonly PendingClear[]): CarriedClears | undefined =>
  list.length ? { tokens: list.map((c) => c.token), failures: list.flatMap((c) => c.failures), usedAt: Math.max(...list.map((c) => c.at)) } : undefined;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** The answers of each budget: a PIN's, a recovery code's. */
const ANSWERS = {
  pin: { locked: 'PIN_LOCKED', lockedText: 'too many wrong PINs; the wallet is locked', wrong: 'PIN_INVALID', wrongText: 'wrong PIN' },
  'recovery-code': {
    locked: 'RECOVERY_LOCKED',
    lockedText: 'too many wrong recovery codes; recovery is locked for now',
    wrong: 'RECOVERY_CODE_WRONG',
    wrongText: 'wrong recovery code',
  },
  passkey: {
    locked: 'PASSKEY_LOCKED',
    lockedText: 'too many failed passkey assertions; passkeys of this wallet are locked for now',
    wrong: 'PASSKEY_INVALID',
    wrongText: 'the passkey assertion was refused',
  },
} as const;
export const lockedError = (lockedUntil: number, now: number, factor: Factor = 'pin'): EnclaveWalletError =>
  new EnclaveWalletError(ANSWERS[factor].locked, ANSWERS[factor].lockedText, { retryAfter: Math.ceil((lockedUntil - now) / 1000) });

export class GuessCounter {
  /** Wakes the guesses of this enclave waiting on a wallet when one of its guesses is answered. */
  private readonly waiting = new Map<WalletId, Array<() => void>>();
  /** Right guesses not cleared yet, by wallet (see CLEAR_DELAY_MS). */
  private readonly unwritten = new Map<WalletId, PendingClear[]>();
  private readonly flushTimers = new Map<WalletId, NodeJS.Timeout>();
  private readonly clearDelayMs: number;

  constructor(private readonly o: GuessOptions) {
    this.clearDelayMs = o.clearDelayMs ?? CLEAR_DELAY_MS;
  }

  /**
   * Counts a guess on the wallet of `record` (the version being stretched for). Waits while the budget is
   * taken by guesses in flight; throws PIN_LOCKED while locked, GuardConflict when the version moved on (the
   * caller starts over), WALLET_CONFLICT when no place came free in time.
   */
  async count(record: GuardRecord, fromCache: boolean, factor: Factor = 'pin', raise?: CounterRaise): Promise<Counted> {
    const walletId = record.walletId;
    const token = randomBytes(16).toString('hex');
    const deadline = performance.now() + ADMISSION_WAIT_MS; // real time: the clock given may stand still in tests
    let base = record;
    let fresh = !fromCache;
    let counterStale = false;
    /** Whether the last write tried carried the counter (then, if it landed, it raised it). */
    let lastRaised = false;
    for (let round = 0; ; round++) {
      const now = this.o.now();
      const t = tally(guessesOf(base, factor), now);
      // A lock-out seen in this enclave's cache is checked against the guard before it is answered.
      if (t.next === 'locked' && fresh) throw lockedError(t.lockedUntil, now, factor);
      if (t.next === 'budget' || t.next === 'exact') {
        const carried = base.legacy ? [] : this.take(walletId, factor);
        try {
          lastRaised = raise !== undefined && !counterStale;
          const after = await phases.time('guard_count', () =>
            this.o.guard.admit(
              walletId,
              base,
              token,
              now,
              t.next === 'exact' ? 'exact' : 'budget',
              factor,
              counterStale ? undefined : raise,
              carriedOf(carried),
            ),
          );
          for (const c of carried) c.done();
          return { ...this.admitted(base, token, after, now, factor), ...(raise ? { counterStale } : {}) };
        } catch (err) {
          this.putBack(walletId, carried);
          if (!(err instanceof GuardConflict)) throw err;
        }
      }
      if (performance.now() >= deadline) throw new EnclaveWalletError('WALLET_CONFLICT', 'other PIN checks on this wallet are still in flight; retry');
      if (t.next === 'wait' || round > 0) await phases.time('guard_wait', () => this.waitFor(walletId, Math.min(10 * 2 ** round, 200)));
      const read = await phases.time('guard_read', () => this.o.guard.get(walletId));
      if (!read || read.version !== record.version) throw new GuardConflict('the wallet’s version moved on');
      fresh = true;
      this.settleGone(walletId, read);
      base = this.withoutUnwritten(read);
      this.o.remember(base);
      // A count whose answer was lost and that the client sent again fails its condition on its own token: it was
      // counted (and its counter raised, if the write carried it).
      const own = guessesOf(read, factor).get(token);
      if (own?.state === 'pending')
        return { ...this.admitted(base, token, guessesOf(read, factor), own.at, factor), ...(raise ? { counterStale: counterStale || !lastRaised } : {}) };
      // The write may have failed on the counter: then the guess is counted without it, and refused.
      if (raise && counterRefuses(read.counters?.[raise.key] ?? 0, raise)) counterStale = true;
    }
  }

  /** A guess counted: the failures it may clear are those the guard held when it was counted, as the write left them. */
  private admitted(base: GuardRecord, token: string, after: ReadonlyMap<string, Guess>, at: number, factor: Factor): Counted {
    const record: GuardRecord = { ...withGuesses(base, factor, after), legacy: false };
    this.o.remember(record);
    const others = new Map(after);
    others.delete(token);
    return { token, base: record, tally: tally(others, at), factor };
  }

  /**
   * A wrong PIN: the guess becomes a failure, and only once the guard has confirmed that is it answered, from the
   * state the write left. If the write failed, or found the guess gone (it outlived its TTL, held back by the
   * host, and a right PIN removed it as a failure), no answer is given: the guess is counted, or was, and the
   * caller learns nothing about the PIN.
   */
  async failed(c: Counted, reason?: string): Promise<EnclaveWalletError> {
    const walletId = c.base.walletId;
    let after: ReadonlyMap<string, Guess> | undefined;
    try {
      after = await this.o.guard.fail(walletId, c.token, this.o.now(), c.factor);
    } finally {
      this.o.forget(walletId);
      this.wake(walletId);
    }
    if (!after) return new EnclaveWalletError('GUARD_UNAVAILABLE', 'the guard no longer held this PIN check; nothing was answered, retry');
    const now = this.o.now();
    const answer = wrongPinAnswer(tally(after, now), now);
    const words = ANSWERS[c.factor];
    return answer.code === 'PIN_LOCKED'
      ? new EnclaveWalletError(words.locked, words.lockedText, { retryAfter: answer.retryAfter })
      : new EnclaveWalletError(words.wrong, reason ? `${words.wrongText}: ${reason}` : words.wrongText, {
          attemptsLeft: answer.attemptsLeft,
          ...(reason ? { reason } : {}),
        });
  }

  /**
   * A right PIN: removes its guess and the failures counted before it, nothing else. Resolves once written;
   * if the token is gone already (it expired and another right PIN removed it), there is nothing to clear.
   * Rejects only if the guard failed: the guess then stays counted (fail closed).
   */
  async cleared(c: Counted): Promise<void> {
    const walletId = c.base.walletId;
    if (this.clearDelayMs > 0) {
      // Carried by the next guess counted on this wallet here, or written when due: the state this enclave
      // counts from has it cleared now (every write is conditional, and the next one carries it).
      const guesses = new Map(guessesOf(c.base, c.factor));
      for (const t of [c.token, ...c.tally.failures]) guesses.delete(t);
      this.o.remember(withGuesses(c.base, c.factor, guesses));
      const written = new Promise<void>((resolve, reject) => {
        const list = this.unwritten.get(walletId) ?? [];
        list.push({ token: c.token, failures: c.tally.failures, factor: c.factor, at: this.o.now(), done: (err) => (err ? reject(err) : resolve()) });
        this.unwritten.set(walletId, list);
      });
      this.scheduleFlush(walletId);
      this.wake(walletId);
      return written;
    }
    try {
      await this.o.guard.clear(walletId, c.token, c.tally.failures, c.factor, this.o.now());
      const guesses = new Map(guessesOf(c.base, c.factor));
      for (const t of [c.token, ...c.tally.failures]) guesses.delete(t);
      this.o.remember(withGuesses(c.base, c.factor, guesses));
    } catch (err) {
      this.o.forget(walletId);
      if (!(err instanceof GuardConflict)) throw err;
    } finally {
      this.wake(walletId);
    }
  }

  /**
   * Writes the clears of `walletId` not carried yet, each on its own (a PIN change waits for this; so does the
   * timer). A clear whose token is gone has nothing to clear; one the guard failed leaves its guess counted.
   */
  async flush(walletId: WalletId): Promise<void> {
    const timer = this.flushTimers.get(walletId);
    if (timer) clearTimeout(timer);
    this.flushTimers.delete(walletId);
    const list = this.unwritten.get(walletId) ?? [];
    this.unwritten.delete(walletId);
    await Promise.all(
      list.map(async (c) => {
        try {
          await this.o.guard.clear(walletId, c.token, c.failures, c.factor, c.at);
          c.done();
        } catch (err) {
          this.o.forget(walletId);
          c.done(err instanceof GuardConflict ? undefined : err);
        }
      }),
    );
  }

  /** Writes every clear not carried yet (on shutdown). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.unwritten.keys()].map((w) => this.flush(w)));
  }

  private scheduleFlush(walletId: WalletId): void {
    if (this.flushTimers.has(walletId)) return;
    const timer = setTimeout(() => void this.flush(walletId), this.clearDelayMs);
    timer.unref();
    this.flushTimers.set(walletId, timer);
  }

  /** The unwritten clears of `factor` on `walletId`, taken out to be carried by a count. */
  private take(walletId: WalletId, factor: Factor): PendingClear[] {
    const list = this.unwritten.get(walletId);
    if (!list) return [];
    const taken = list.filter((c) => c.factor === factor);
    const rest = list.filter((c) => c.factor !== factor);
    if (rest.length) this.unwritten.set(walletId, rest);
    else this.unwritten.delete(walletId);
    return taken;
  }

  /** Clears a count did not write (its write failed): back in the list, still due. */
  private putBack(walletId: WalletId, carried: PendingClear[]): void {
    if (!carried.length) return;
    this.unwritten.set(walletId, [...(this.unwritten.get(walletId) ?? []), ...carried]);
    this.scheduleFlush(walletId);
  }

  /** Unwritten clears whose token the guard no longer holds have nothing left to clear (another write removed it). */
  private settleGone(walletId: WalletId, read: GuardRecord): void {
    const list = this.unwritten.get(walletId);
    if (!list) return;
    const kept = list.filter((c) => guessesOf(read, c.factor).has(c.token));
    for (const c of list) if (!kept.includes(c)) c.done();
    if (kept.length) this.unwritten.set(walletId, kept);
    else this.unwritten.delete(walletId);
  }

  /** A record read from the guard as this enclave counts from it: its unwritten clears applied. */
  private withoutUnwritten(read: GuardRecord): GuardRecord {
    let record = read;
    for (const c of this.unwritten.get(read.walletId) ?? []) {
      const guesses = new Map(guessesOf(record, c.factor));
      for (const t of [c.token, ...c.failures]) guesses.delete(t);
      record = withGuesses(record, c.factor, guesses);
    }
    return record;
  }

  /** A guess that never reached an answer (KMS or the guard failed): it stays counted; waiters look again. */
  abandoned(walletId: WalletId): void {
    this.o.forget(walletId);
    this.wake(walletId);
  }

  private waitFor(walletId: WalletId, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const list = this.waiting.get(walletId) ?? [];
      list.push(resolve);
      this.waiting.set(walletId, list);
      sleep(ms).then(resolve, resolve);
    });
  }

  private wake(walletId: WalletId): void {
    const list = this.waiting.get(walletId);
    this.waiting.delete(walletId);
    for (const w of list ?? []) w();
  }
}

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
    const enc = new TextEncoder();
    const label = enc.encode(`${p.factor ?? 'pin'}|${p.walletId.length}:${p.walletId}|${p.userId.length}:${p.userId}|${p.version}|`);
    const data = new Uint8Array(label.length + p.pin.length);
    data.set(label);
    data.set(p.pin, label.length);
    try {
      return toHex(hmac(sha256, this.key, data));
    } finally {
      data.fill(0);
    }
  }
}
