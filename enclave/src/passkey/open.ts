/**
 * Opening a wallet's passkey slot (docs/passkeys.md): after the guess is counted in the passkey budget, the
 * assertion is checked (webauthn.ts), the signature counter raised in the guard, and only then is the slot
 * unwrapped with the PRF output (by the caller). Any refusal turns the counted guess into a failure.
 */
import { createHash } from 'node:crypto';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { GuardRecord, WalletGuard } from '../guard/guard.js';
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

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.from(a).equals(Buffer.from(b));

/** The passkey slot of `credentialId` in `slots`, if any. */
export const passkeySlotOf = (slots: readonly Slot[] | undefined, credentialId: Uint8Array): Slot | undefined =>
  slots?.find((sl) => sl.kind === SLOT_PASSKEY && sameBytes(sl.passkey!.credentialId, credentialId));

/**
 * The slot an assertion may open, once every check but the PRF output passed; a refusal is counted (the
 * counted guess becomes a failure) and thrown as PASSKEY_INVALID with its reason, or PASSKEY_LOCKED.
 */
export async function admitPasskey(
  deps: { counter: GuessCounter; guard: WalletGuard },
  guess: Counted,
  record: GuardRecord,
  slots: readonly Slot[],
  passkey: PasskeyOpen,
): Promise<Slot> {
  const refuse = async (reason: PasskeyReason): Promise<EnclaveWalletError> => deps.counter.failed(guess, reason);
  const slot = passkeySlotOf(slots, passkey.credentialId);
  if (!slot) throw await refuse('credential');
  let signCount: number;
  try {
    signCount = passkey.check(slot).signCount;
  } catch (err) {
    if (err instanceof PasskeyRefusal) throw await refuse(err.reason);
    deps.counter.abandoned(record.walletId);
    throw err;
  }
  // WebAuthn §7.2 step 22: when either counter is non-zero, the new one must be greater than the stored one.
  const key = credentialKey(passkey.credentialId);
  if (signCount === 0) {
    if ((guess.base.counters?.[key] ?? record.counters?.[key] ?? 0) !== 0) throw await refuse('counter');
  } else {
    let raised: boolean;
    try {
      raised = await deps.guard.raiseCounter(record.walletId, key, signCount);
    } catch (err) {
      deps.counter.abandoned(record.walletId); // counted, never answered: it stays counted
      throw err;
    }
    if (!raised) throw await refuse('counter');
    // This enclave's view of the record (cached after the guess is cleared) now holds the raised counter, so a
    // zero counter that follows is compared with it. Another enclave's raise is seen at its next read.
    guess.base = { ...guess.base, counters: { ...guess.base.counters, [key]: signCount } };
  }
  return slot;
}
