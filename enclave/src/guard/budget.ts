/**
 * The wrong-PIN budget, as pure rules over a wallet's counted guesses
 * (docs/guard.md). Each guess is counted in the guard under a random token
 * before its answer exists:
 *
 *   pending  counted, its answer not known yet (its enclave is stretching
 *            the PIN, or died doing so)
 *   failed   answered: wrong PIN
 *
 * A right PIN removes its own token and the failures it saw before it was
 * counted; nothing else. So the rules are about tokens, never about a number
 * that can climb back to an old value (no ABA), and a guess in flight is told
 * apart from a failure:
 *
 * - at most MAX_PIN_ATTEMPTS guesses are counted at once (pending + failed):
 *   a sixth waits for one of them to be answered;
 * - a pending guess older than GUESS_TTL_MS is a failure (its enclave died
 *   or its answer was held back), dated at its expiry; a failure dated after
 *   the moment a tally is made for counts as in flight in that tally;
 * - MAX_PIN_ATTEMPTS failures lock the wallet for lockoutMs(failures) after
 *   the last one; then one guess at a time may be counted, and each further
 *   failure doubles the lock-out.
 */

/** Consecutive wrong PINs before a wallet locks. */
export const MAX_PIN_ATTEMPTS = 5;
/** First lock-out; doubles with each further failure. */
export const LOCKOUT_BASE_MS = 60_000;
export const LOCKOUT_MAX_MS = 24 * 3600_000;
/** A guess still pending after this long is a failure: its enclave died, or its answer never came back. */
export const GUESS_TTL_MS = 60_000;

/** One counted guess: `at` is when it was counted (pending) or answered wrong (failed). */
export interface Guess {
  state: 'pending' | 'failed';
  at: number;
}

/** Lock-out after `failures` consecutive wrong PINs (0 below the limit). */
export function lockoutMs(failures: number): number {
  if (failures < MAX_PIN_ATTEMPTS) return 0;
  return Math.min(LOCKOUT_BASE_MS * 2 ** (failures - MAX_PIN_ATTEMPTS), LOCKOUT_MAX_MS);
}

export interface Tally {
  /** Tokens of the guesses that count as failures now (answered wrong, or pending past their TTL). */
  failures: string[];
  /** Guesses counted and not yet answered (within their TTL). */
  inFlight: number;
  /** Unix ms until which no guess may be counted (0: not locked). */
  lockedUntil: number;
  /**
   * What a new guess may do now: be counted against the budget (`budget`), be counted only if nothing changed
   * since this read (`exact`: the one guess allowed after a lock-out), wait for a guess in flight to be
   * answered (`wait`), or nothing until `lockedUntil` (`locked`).
   */
  next: 'budget' | 'exact' | 'wait' | 'locked';
}

/** The state of a wallet's guesses at `now`. */
export function tally(guesses: ReadonlyMap<string, Guess>, now: number): Tally {
  const failures: string[] = [];
  let inFlight = 0;
  let lastFailure = 0;
  for (const [token, g] of guesses) {
    // A failure dated after `now` is not one this tally may see (a count's answer read back later must not take
    // failures counted after it as failures it saw, and clear them): it counts as in flight.
    const failedAt = g.state === 'failed' ? (g.at <= now ? g.at : undefined) : g.at + GUESS_TTL_MS <= now ? g.at + GUESS_TTL_MS : undefined;
    if (failedAt === undefined) {
      inFlight++;
      continue;
    }
    failures.push(token);
    lastFailure = Math.max(lastFailure, failedAt);
  }
  const lockedUntil = failures.length >= MAX_PIN_ATTEMPTS ? lastFailure + lockoutMs(failures.length) : 0;
  const next =
    now < lockedUntil
      ? 'locked'
      : failures.length + inFlight < MAX_PIN_ATTEMPTS
        ? 'budget'
        : failures.length >= MAX_PIN_ATTEMPTS && inFlight === 0
          ? 'exact'
          : 'wait';
  return { failures, inFlight, lockedUntil: now < lockedUntil ? lockedUntil : 0, next };
}

/** The answer to a wrong PIN, from the guesses as its failure left them. */
export function wrongPinAnswer(after: Tally, now: number): { code: 'PIN_LOCKED'; retryAfter: number } | { code: 'PIN_INVALID'; attemptsLeft: number } {
  if (after.lockedUntil > now) return { code: 'PIN_LOCKED', retryAfter: Math.ceil((after.lockedUntil - now) / 1000) };
  return { code: 'PIN_INVALID', attemptsLeft: Math.max(0, MAX_PIN_ATTEMPTS - after.failures.length - after.inFlight) };
}
