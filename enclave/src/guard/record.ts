/**
 * The guard's record as sealing sees it (one DynamoDB item per wallet, laid out in guard.ts), the budgets of
 * guesses per factor, and what sealing needs from a guard (WalletGuard).
 */
import type { Guess } from './budget.js';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';

/**
 * The guesses of an empty budget: one map shared by every record that has one (most budgets are empty, and an empty
 * Map is about 150 bytes; the enclave remembers thousands of records). Never written: a record's budgets are
 * ReadonlyMaps, and every change makes a new map.
 */
export const NO_GUESSES: ReadonlyMap<string, Guess> = new Map();

export interface GuardRecord {
  walletId: WalletId;
  owner: UserId;
  keyRef: string;
  version: number;
  blob: Uint8Array;
  /** The PIN guesses counted and not cleared, by token (budget.ts). */
  guesses: ReadonlyMap<string, Guess>;
  /** The recovery-code guesses, a budget of their own (empty on items from before recovery codes). */
  codeGuesses: ReadonlyMap<string, Guess>;
  /** The passkey assertions counted, a budget of their own (empty on items from before passkeys). */
  passkeyGuesses?: ReadonlyMap<string, Guess>;
  /** When a factor of each kind last opened the wallet (`pin`, `recovery-code`, `passkey`), Unix ms. */
  used: Readonly<Record<string, number>>;
  /** The highest WebAuthn signature counter accepted per credential (hex SHA-256 of its id); absent when none. */
  counters?: Readonly<Record<string, number>>;
  /** A random tag every write sets: the one guess after a lock-out is counted only if nothing changed since it was read. */
  rev: string;
  /**
   * An item written before guesses had tokens (`failed`, `lockedUntil` numbers): `guesses` holds its failures
   * under made-up tokens, and the first guess counted converts the item.
   */
  legacy: boolean;
}

/** A guard record as created: its guesses (none, or a layout-1 blob's carried-over failures). */
export type NewGuardRecord = Pick<GuardRecord, 'walletId' | 'owner' | 'keyRef' | 'version' | 'blob' | 'guesses'>;

/**
 * The record a created item holds, as this enclave remembers it: every field, in the order recordFromItem (item.ts)
 * gives them, so that records remembered from a creation and records read from the guard are of one shape.
 */
export const createdRecord = (r: NewGuardRecord): GuardRecord => ({
  walletId: r.walletId,
  owner: r.owner,
  keyRef: r.keyRef,
  version: r.version,
  blob: r.blob,
  guesses: r.guesses,
  codeGuesses: NO_GUESSES,
  passkeyGuesses: NO_GUESSES,
  used: {},
  counters: {},
  rev: '',
  legacy: false,
});

/** Which factor's budget a guess counts against. */
export type Factor = 'pin' | 'recovery-code' | 'passkey';
export const BUDGET_ATTRIBUTE: Record<Factor, string> = { pin: 'guesses', 'recovery-code': 'codeGuesses', passkey: 'passkeyGuesses' };
/** The guesses of `factor` in a record. */
export const guessesOf = (record: Pick<GuardRecord, 'guesses' | 'codeGuesses' | 'passkeyGuesses'>, factor: Factor): ReadonlyMap<string, Guess> =>
  factor === 'pin' ? record.guesses : factor === 'recovery-code' ? record.codeGuesses : (record.passkeyGuesses ?? NO_GUESSES);
/** `record` with the guesses of `factor` replaced. */
export const withGuesses = (record: GuardRecord, factor: Factor, guesses: ReadonlyMap<string, Guess>): GuardRecord => ({
  ...record,
  ...(factor === 'pin' ? { guesses } : factor === 'recovery-code' ? { codeGuesses: guesses } : { passkeyGuesses: guesses }),
});

/** `record` without the guesses `tokens` of `factor` (a right guess's own and the failures it saw). */
export const withoutGuesses = (record: GuardRecord, factor: Factor, tokens: readonly string[]): GuardRecord => {
  const guesses = new Map(guessesOf(record, factor));
  for (const t of tokens) guesses.delete(t);
  return withGuesses(record, factor, guesses.size ? guesses : NO_GUESSES);
};

/**
 * A passkey's signature counter raised by the same write that counts its guess (docs/guard.md): the write is
 * also conditional on the stored counter being lower.
 */
export interface CounterRaise {
  /** Hex SHA-256 of the credential id. */
  key: string;
  /** The assertion's signature counter. Non-zero: stored if the stored one is lower (or unset). Zero: nothing is
   * stored, and the write holds only while the stored one is zero (or unset). */
  value: number;
}

/** Whether a stored counter refuses an assertion's: WebAuthn §7.2 step 22, when either is non-zero the new one must be greater. */
export const counterRefuses = (stored: number, raise: CounterRaise): boolean => (raise.value === 0 ? stored !== 0 : stored >= raise.value);

/**
 * Clears of right guesses that a guess's count carries (docs/guard.md, "One write per signature"): each right
 * guess's own token (which must still be counted) and the failures it saw before it, and when the factor was used.
 */
export interface CarriedClears {
  tokens: readonly string[];
  failures: readonly string[];
  usedAt: number;
}

/** A conditional write lost to a concurrent one; the caller re-reads. */
export class GuardConflict extends Error {
  override readonly name = 'GuardConflict';
}

/** What sealing needs from the guard. */
export interface WalletGuard {
  get(walletId: WalletId): Promise<GuardRecord | undefined>;
  /** @throws WALLET_EXISTS when the wallet id is taken */
  create(record: NewGuardRecord): Promise<void>;
  /**
   * Counts a guess as pending under `token`, before its answer exists. `budget`: if fewer than
   * MAX_PIN_ATTEMPTS guesses are counted and the version is still `read.version`; `exact`: if the record is still
   * `read` (its rev). A legacy record is converted by the same write, if still as read. Returns the guesses as
   * this write left them. `carry`: right guesses of the same budget not yet cleared, cleared by the same write
   * (their tokens must all still be there). @throws GuardConflict
   */
  admit(
    walletId: WalletId,
    read: GuardRecord,
    token: string,
    at: number,
    mode: 'budget' | 'exact',
    factor?: Factor,
    raise?: CounterRaise,
    carry?: CarriedClears,
  ): Promise<ReadonlyMap<string, Guess>>;
  /**
   * A wrong PIN: the guess `token` becomes a failure at `at`. Returns the guesses as this write left them, or
   * undefined if the token was gone (it expired and a right PIN removed it: then no answer may be given).
   */
  fail(walletId: WalletId, token: string, at: number, factor?: Factor): Promise<ReadonlyMap<string, Guess> | undefined>;
  /**
   * A right PIN (or code): removes its guess `token` and the failures it saw before it; nothing else; and notes
   * when the factor was used. @throws GuardConflict if `token` is gone
   */
  clear(walletId: WalletId, token: string, failures: readonly string[], factor?: Factor, at?: number): Promise<void>;
  /**
   * A new PIN, recovery code or secret: the next version and its blob, if the version is still `fromVersion`.
   * `reset`: 'all' empties both budgets (a PIN reset with the recovery code ends a lock-out), 'codes' the
   * recovery codes' (a new code made with the PIN). @throws GuardConflict
   */
  advance(walletId: WalletId, fromVersion: number, next: Pick<GuardRecord, 'version' | 'blob' | 'keyRef'>, reset?: 'none' | 'codes' | 'all'): Promise<void>;
  /**
   * Raises the stored WebAuthn signature counter of credential `credentialKey` (hex SHA-256 of its id) to
   * `value`, if it is lower (or unset). Returns false, writing nothing, when the stored one is not lower.
   */
  raiseCounter(walletId: WalletId, credentialKey: string, value: number): Promise<boolean>;
}
