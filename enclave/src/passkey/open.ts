/**
 * Opening a wallet's passkey slot (docs/passkeys.md): the assertion is checked (webauthn.ts); its guess is
 * counted in the passkey budget by a write that also raises its signature counter; and only then is the slot
 * unwrapped with the PRF output (by the caller). A refusal is answered only once its guess is counted, as a
 * failure.
 */
import { createHash } from 'node:crypto';
import { equalBytes } from '@enclave-wallet/proto/bytes';
import { counterRefuses, type CounterRaise, type GuardRecord } from '../guard/guard.js';
import type { Counted, GuessCounter } from '../sealing/guesses.js';
import { SLOT_PASSKEY, type Slot } from '../sealing/slots.js';
import { PasskeyRefusal, type PasskeyReason } from './webauthn.js';

/** What opening by passkey needs besides the PRF output: the credential named, and the checks of its assertion. */
export interface PasskeyOpen {
  credentialId: Uint8Array;
  /** Checks the assertion against the slot's credential (webauthn.ts checkAssertion); returns its counter. */
  check(slot: Slot): { signCount: number };
}

/** The guard's name for a credential's counter: hex SHA-256 of its raw id. */
export const credentialKey = (credentialId: Uint8Array): string => createHash('sha256').update(credentialId).digest('hex');

/** The passkey slot of `credentialId` in `slots`, if any. */
export const passkeySlotOf = (slots: readonly Slot[] | undefined, credentialId: Uint8Array): Slot | undefined =>
  slots?.find((sl) => sl.kind === SLOT_PASSKEY && equalBytes(sl.passkey!.credentialId, credentialId));

/** What the checks of an assertion decided, before its guess is counted. */
export interface PasskeyVerdict {
  /** The slot of its credential, when every check passed. */
  slot?: Slot;
  /** The check that failed: the guess is counted, then answered as this refusal. */
  refusal?: PasskeyReason;
  /** A non-zero counter, raised by the write that counts the guess (if the stored one is lower). */
  raise?: CounterRaise;
  /**
   * The refusal is answered without counting a guess: the slot's own key is one this enclave does not take (an
   * algorithm a newer enclave added, met during a rolling deploy or after a rollback). No assertion could pass it
   * here and nothing secret is tried, so counting it would only lock the wallet's other passkeys.
   */
  uncounted?: boolean;
}

/**
 * Checks an assertion against the wallet's passkey slots, before its guess is counted (nothing secret is
 * needed), so that its counter can be raised by the same conditional write (docs/guard.md). A refusal is not
 * answered here: the guess is counted first, then turned into a failure (settlePasskey).
 */
export function checkPasskey(record: GuardRecord, slots: readonly Slot[], passkey: PasskeyOpen): PasskeyVerdict {
  const slot = passkeySlotOf(slots, passkey.credentialId);
  if (!slot) return { refusal: 'credential' };
  let signCount: number;
  try {
    signCount = passkey.check(slot).signCount;
  } catch (err) {
    // 'public-key' is about the slot's sealed key alone (its SPKI or algorithm), never the assertion.
    if (err instanceof PasskeyRefusal) return err.reason === 'public-key' ? { refusal: err.reason, uncounted: true } : { refusal: err.reason };
    throw err;
  }
  // WebAuthn §7.2 step 22: when either counter is non-zero, the new one must be greater than the stored one. The
  // guard's write that counts the guess decides it (a zero too: it holds only while the stored one is zero), so a
  // stale view in this enclave's cache, or another enclave's raise, cannot let a counter go back.
  const raise = { key: credentialKey(passkey.credentialId), value: signCount };
  if (counterRefuses(record.counters?.[raise.key] ?? 0, raise)) return { refusal: 'counter' };
  return { slot, raise };
}

/** The slot a counted assertion may open, or its refusal, counted (PASSKEY_INVALID with its reason, or PASSKEY_LOCKED). */
export async function settlePasskey(counter: GuessCounter, guess: Counted, verdict: PasskeyVerdict): Promise<Slot> {
  if (verdict.refusal) throw await counter.failed(guess, verdict.refusal);
  if (guess.counterStale) throw await counter.failed(guess, 'counter');
  const raise = verdict.raise;
  // This enclave's view of the record (cached after the guess is cleared) holds the raised counter.
  if (raise) guess.base = { ...guess.base, counters: { ...guess.base.counters, [raise.key]: raise.value } };
  return verdict.slot!;
}
