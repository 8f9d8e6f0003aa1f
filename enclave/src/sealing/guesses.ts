/**
 * Counting PIN guesses in the guard (docs/guard.md, rules in guard/budget.ts);
 * sharing one guess between concurrent requests is in shared-guesses.ts, and
 * right guesses' clears waiting to be carried in unwritten-clears.ts.
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
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { WalletId } from '@enclave-wallet/proto/ids';
import { GUESS_TTL_MS, tally, wrongPinAnswer, type Guess, type Tally } from '../guard/budget.js';
import {
  counterRefuses,
  GuardConflict,
  guessesOf,
  withGuesses,
  withoutGuesses,
  type CounterRaise,
  type Factor,
  type GuardRecord,
  type WalletGuard,
} from '../guard/guard.js';
import { pause } from '../pause.js';
import { phases } from '../phases.js';
import { carriedOf, UnwrittenClears } from './unwritten-clears.js';

/**
 * How long a right guess's clear may wait to be carried by the next guess counted on its wallet here (one guard
 * write per signature instead of two, docs/guard.md); after that it is written on its own.
 */
export const CLEAR_DELAY_MS = 2_000;

/**
 * A wrong guess is answered only if its answer is ready this long before its TTL (GUESS_TTL_MS) runs out: after
 * that the guard may take it for a failure, and a right PIN may remove it (docs/guard.md).
 */
export const ANSWER_MARGIN_MS = 5_000;

/** How long a guess waits for a free place in the budget before WALLET_CONFLICT (retry). */
export const ADMISSION_WAIT_MS = 10_000;

/** A guess counted in the guard: its token, and the state it was counted against. */
export interface Counted {
  token: string;
  /** When the guess was counted (its pending entry's time, by this enclave's clock). */
  countedAt: number;
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
  /** Right guesses not cleared yet (see CLEAR_DELAY_MS). */
  private readonly unwritten: UnwrittenClears;
  private readonly clearDelayMs: number;

  constructor(private readonly o: GuessOptions) {
    this.clearDelayMs = o.clearDelayMs ?? CLEAR_DELAY_MS;
    this.unwritten = new UnwrittenClears(o.guard, this.clearDelayMs, o.forget);
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
        let carried = base.legacy ? [] : this.unwritten.take(walletId, factor);
        if (!carried) {
          await this.unwritten.flush(walletId); // too many to carry: written first, on their own
          carried = [];
        }
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
          this.unwritten.putBack(walletId, carried);
          if (!(err instanceof GuardConflict)) throw err;
        }
      }
      if (performance.now() >= deadline) throw new EnclaveWalletError('WALLET_CONFLICT', 'other PIN checks on this wallet are still in flight; retry');
      if (t.next === 'wait' || round > 0) await phases.time('guard_wait', () => this.waitFor(walletId, Math.min(10 * 2 ** round, 200)));
      const mark = this.unwritten.mark();
      const read = await phases.time('guard_read', () => this.o.guard.get(walletId));
      if (!read || read.version !== record.version) throw new GuardConflict('the wallet’s version moved on');
      fresh = true;
      this.unwritten.settleGone(walletId, read, mark);
      base = this.unwritten.applied(read);
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
    return { token, countedAt: at, base: record, tally: tally(others, at), factor };
  }

  /**
   * A wrong PIN: the guess becomes a failure, and only once the guard has confirmed that is it answered, from the
   * state the write left. If the write failed, or found the guess gone (it outlived its TTL, held back by the
   * host, and a right PIN removed it as a failure), no answer is given: the guess is counted, or was, and the
   * caller learns nothing about the PIN.
   */
  async failed(c: Counted, reason?: string): Promise<EnclaveWalletError> {
    const walletId = c.base.walletId;
    const unanswered = new EnclaveWalletError('GUARD_UNAVAILABLE', 'the guard no longer held this PIN check; nothing was answered, retry');
    // A guess answered this late may already count as a failure in the guard (its TTL) and have been removed with
    // the failures a right PIN saw: it is never answered, whatever the guard says (the host may have held it).
    const tooLate = (): boolean => this.o.now() >= c.countedAt + GUESS_TTL_MS - ANSWER_MARGIN_MS;
    let after: ReadonlyMap<string, Guess> | undefined;
    try {
      if (tooLate()) return unanswered;
      after = await this.o.guard.fail(walletId, c.token, this.o.now(), c.factor);
    } finally {
      this.o.forget(walletId);
      this.wake(walletId);
    }
    if (!after || tooLate()) return unanswered;
    const now = this.o.now();
    const answer = wrongPinAnswer(tally(after, now), now);
    const words = ANSWERS[c.factor];
    return answer.code === 'PIN_LOCKED'
      ? lockedError(now + answer.retryAfter * 1000, now, c.factor)
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
      this.o.remember(withoutGuesses(c.base, c.factor, [c.token, ...c.tally.failures]));
      const written = this.unwritten.add(walletId, { token: c.token, failures: c.tally.failures, factor: c.factor, at: this.o.now() });
      this.wake(walletId);
      return written;
    }
    try {
      await this.o.guard.clear(walletId, c.token, c.tally.failures, c.factor, this.o.now());
      this.o.remember(withoutGuesses(c.base, c.factor, [c.token, ...c.tally.failures]));
    } catch (err) {
      this.o.forget(walletId);
      if (!(err instanceof GuardConflict)) throw err;
    } finally {
      this.wake(walletId);
    }
  }

  /** Writes the clears of `walletId` not carried yet (a PIN change waits for this; so does the timer). */
  flush(walletId: WalletId): Promise<void> {
    return this.unwritten.flush(walletId);
  }

  /** Writes every clear not carried yet (on shutdown). */
  flushAll(): Promise<void> {
    return this.unwritten.flushAll();
  }

  /** A guess that never reached an answer (KMS or the guard failed): it stays counted; waiters look again. */
  abandoned(walletId: WalletId): void {
    this.o.forget(walletId);
    this.wake(walletId);
  }

  /**
   * Waits `ms`, or less if a guess on the wallet is answered here meanwhile. A wait that ends on its timer takes its
   * waker out of the wallet's list (and the list out of the map once empty): guesses this enclave never answers
   * (another enclave's, or from before a restart) would otherwise leave one waker per round of every wait.
   */
  private waitFor(walletId: WalletId, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const list = this.waiting.get(walletId) ?? [];
      const done = (): void => {
        // A list that wake() took is no longer in the map; it is dropped whole.
        if (this.waiting.get(walletId) === list) {
          const at = list.indexOf(done);
          if (at >= 0) list.splice(at, 1);
          if (list.length === 0) this.waiting.delete(walletId);
        }
        resolve();
      };
      list.push(done);
      this.waiting.set(walletId, list);
      pause(ms).then(done, done);
    });
  }

  private wake(walletId: WalletId): void {
    const list = this.waiting.get(walletId);
    this.waiting.delete(walletId);
    for (const w of list ?? []) w();
  }
}
