/**
 * An opened wallet and what can be done with it (sealing/seal.ts opens it): the secrets one guess gave, each
 * request's own copy of them, and re-sealing under a new PIN, a new recovery code, or both (a reset). A new
 * blob is always version 4 (key slots, slots.ts); it becomes current in the guard once the opening guess is
 * cleared, with a write conditional on the version that was opened.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';
import { GuardConflict, type GuardRecord, type WalletGuard } from '../guard/guard.js';
import { seedFromEntropy } from '../keys/derive.js';
import { sealXChaCha20Poly1305 } from '../aead.js';
import { disposeAll, SecretBytes } from '../secret.js';
import {
  AEAD_XCHACHA20_POLY1305,
  associatedData,
  BLOB_VERSION,
  encodeBlob,
  encodeSealedPart,
  encodeWalletSecret,
  stateMacInput,
  type AttemptState,
  type SealedBlob,
  type WalletSecret,
} from './blob.js';
import { ARGON2_POLICY, ARGON2_SALT_BYTES, stateKey, stretchPin } from './kdf.js';
import { SLOT_PASSKEY, SLOT_PIN, SLOT_RECOVERY_CODE, wrapSlot, type Slot, type SlotBinding, type SlotKind } from './slots.js';
import { credentialKey, passkeySlotOf } from '../passkey/open.js';
import type { PasskeyParams } from '../passkey/slot-params.js';
import { MAX_PASSKEYS } from './blob.js';

/** A passkey to add: its slot parameters, its PRF output (the factor key) and its registration assertion's counter. */
export interface NewPasskey {
  params: PasskeyParams;
  prf: Uint8Array;
  signCount: number;
}

type Change = {
  newPin?: Uint8Array;
  newCode?: Uint8Array;
  reset?: boolean;
  resetCodeGuesses?: boolean;
  addPasskey?: NewPasskey;
  removePasskey?: Uint8Array;
  /** Every passkey slot left out (a PIN reset with the recovery code). */
  dropPasskeys?: boolean;
};

/** What re-sealing needs from the Sealer: the guard, the clock, and a way to drop its cached record. */
export interface ResealDeps {
  guard: WalletGuard;
  now: () => number;
  forget(walletId: WalletId): void;
  /** Writes the wallet's right guesses' clears not carried yet (a re-seal waits for its own). */
  flushClears(walletId: WalletId): Promise<void>;
}

/** The BIP-39 seed of `entropy` (PBKDF2, 2048 rounds): for blobs sealed before version 3. */
const seedOf = seedFromEntropy;

/** An opened wallet. Call `dispose()` when done: it zeroes the secrets. */
export interface OpenedWallet {
  walletId: WalletId;
  userId: UserId;
  /** The sealed wallet secret: the BIP-39 entropy. */
  secret: Uint8Array;
  /** The BIP-39 seed, sealed next to the entropy (blob version 3); undefined for older blobs (derive it). */
  seed: Uint8Array | undefined;
  /** The wallet's current blob when it differs from the one the host sent (for the host to store). */
  current: Uint8Array | undefined;
  /**
   * Resolves once the guard has cleared the counted guess; rejects if it could not (the guard failed, the
   * version moved on, or another guess was counted since): the guess then stays counted. The guess was counted
   * before the answer existed, so answering need not wait for this; a PIN change does.
   */
  settled: Promise<void>;
  dispose(): void;
  /** Seals the same secret under `newPin` as the next version, and makes that version current in the guard. */
  changePin(newPin: Uint8Array): Promise<Uint8Array>;
  /** The next version with `code` (16 bytes) as its recovery code, in place of any earlier one. */
  setRecoveryCode(code: Uint8Array): Promise<Uint8Array>;
  /**
   * The next version with a new PIN and a new recovery code (or, without one, the code kept: a reset with a
   * passkey), every counted guess gone (a reset ends a lock-out); with `dropPasskeys`, no passkey slot kept.
   */
  resetPin(newPin: Uint8Array, newCode: Uint8Array | undefined, options?: { dropPasskeys?: boolean }): Promise<Uint8Array>;
  /** The next version with a passkey slot more. @throws PASSKEY_EXISTS, PASSKEY_LIMIT_REACHED */
  addPasskey(passkey: NewPasskey): Promise<Uint8Array>;
  /** The next version without the passkey slot of `credentialId`. @throws FACTOR_NOT_FOUND */
  removePasskey(credentialId: Uint8Array): Promise<Uint8Array>;
}

/** What one guess opens, shared by the requests that joined it; each gets its own copy. */
export interface SharedOpen {
  dataKey: Uint8Array;
  secret: WalletSecret;
  /** Version 4: the wallet key the slot gave. */
  walletKey: Uint8Array | undefined;
  /** Opened by PIN: Argon2id(PIN) with the blob's salt (a blob before slots gains its PIN slot from it). */
  pinKey: Uint8Array | undefined;
  /** The clear of the guess (see OpenedWallet.settled). */
  settled: Promise<void>;
}

export const copyOpen = (s: SharedOpen): SharedOpen => ({
  dataKey: SecretBytes.copyOf(s.dataKey),
  secret: { entropy: SecretBytes.copyOf(s.secret.entropy), seed: s.secret.seed && SecretBytes.copyOf(s.secret.seed) },
  walletKey: s.walletKey && SecretBytes.copyOf(s.walletKey),
  pinKey: s.pinKey && SecretBytes.copyOf(s.pinKey),
  settled: s.settled,
});

export function disposeOpen(s: SharedOpen): void {
  disposeAll(s.dataKey, s.secret.entropy, s.secret.seed, s.walletKey, s.pinKey);
}

/** What a blob's slots are bound to. */
export const slotBinding = (blob: SealedBlob): SlotBinding => ({
  walletId: blob.walletId,
  ownerUserId: blob.ownerUserId,
  kmsKeyId: blob.kmsKeyId,
  kmsCiphertext: blob.kmsCiphertext,
});

export function openedWallet(deps: ResealDeps, record: GuardRecord, blob: SealedBlob, own: SharedOpen, current: Uint8Array | undefined): OpenedWallet {
  const { walletId, owner: userId } = record;
  const { secret, settled } = own;
  let disposed = false;
  const reseal = (change: Change): Promise<Uint8Array> => {
    if (disposed) throw new Error('re-seal after dispose');
    return resealOpened(deps, record, blob, own, change);
  };
  return {
    walletId,
    userId,
    secret: secret.entropy,
    seed: secret.seed,
    settled,
    current,
    dispose: () => {
      disposed = true;
      disposeOpen(own);
    },
    changePin: (newPin) => reseal({ newPin }),
    // A new code made with the PIN also ends a recovery lock-out: the user proved presence with the PIN.
    setRecoveryCode: (code) => reseal({ newCode: code, resetCodeGuesses: true }),
    resetPin: (newPin, newCode, options) => reseal({ newPin, ...(newCode ? { newCode } : {}), reset: true, dropPasskeys: options?.dropPasskeys === true }),
    addPasskey: (passkey) => reseal({ addPasskey: passkey }),
    removePasskey: (credentialId) => reseal({ removePasskey: credentialId }),
  };
}

/**
 * The next version of an opened wallet: the same secret and wallet key (a blob from before slots gets one now),
 * with a new PIN slot and/or a new recovery-code slot in place of the old ones; made current in the guard once
 * this open's guess is cleared. The old PIN or code stops working because the guard's blob is the only one opened.
 */
async function resealOpened(deps: ResealDeps, record: GuardRecord, blob: SealedBlob, own: SharedOpen, change: Change): Promise<Uint8Array> {
  const { walletId } = record;
  const binding = slotBinding(blob);
  const createdAt = deps.now();
  // A blob from before version 3 gets its seed now: the new one seals it.
  const seed = own.secret.seed ?? (await seedOf(own.secret.entropy));
  using walletKey = own.walletKey ? SecretBytes.copyOf(own.walletKey) : SecretBytes.adopt(randomBytes(32));
  const kept = (kind: SlotKind): Slot | undefined => (own.walletKey ? blob.slots?.find((sl) => sl.kind === kind) : undefined);
  let pinSlot = kept(SLOT_PIN);
  if (change.newPin) {
    const salt = randomBytes(ARGON2_SALT_BYTES);
    using stretched = await stretchPin(change.newPin, salt, ARGON2_POLICY);
    pinSlot = wrapSlot(SLOT_PIN, binding, own.dataKey, stretched, walletKey, { pin: { ...ARGON2_POLICY, salt }, createdAt });
  } else if (!pinSlot) {
    // A blob before slots, opened by its PIN: its PIN slot wraps the new wallet key under the same Argon2id(PIN).
    if (!own.pinKey) throw new EnclaveWalletError('FACTOR_NOT_FOUND', 'this wallet has no PIN slot to keep');
    pinSlot = wrapSlot(SLOT_PIN, binding, own.dataKey, own.pinKey, walletKey, { pin: blob.argon2, createdAt });
  }
  const codeSlot = change.newCode ? wrapSlot(SLOT_RECOVERY_CODE, binding, own.dataKey, change.newCode, walletKey, { createdAt }) : kept(SLOT_RECOVERY_CODE);
  const passkeySlots = passkeysAfter(blob, own, binding, walletKey, createdAt, change);
  let next: Uint8Array;
  try {
    next = sealSlots({
      ...binding,
      dataKey: own.dataKey,
      walletKey,
      secret: { entropy: own.secret.entropy, seed },
      slots: [pinSlot, ...(codeSlot ? [codeSlot] : []), ...passkeySlots],
      generation: record.version + 1,
    });
  } finally {
    if (seed !== own.secret.seed) seed.fill(0);
  }
  try {
    // The guess that opened the wallet is cleared before the version moves on (written now if it was waiting to be carried).
    void deps.flushClears(walletId);
    await own.settled;
    // The registration assertion's counter is the credential's first high-water mark (never lowered).
    const added = change.addPasskey;
    if (added && added.signCount > 0 && !(await deps.guard.raiseCounter(walletId, credentialKey(added.params.credentialId), added.signCount)))
      throw new EnclaveWalletError('PASSKEY_INVALID', 'the passkey assertion was refused: counter', { reason: 'counter' });
    await deps.guard.advance(
      walletId,
      record.version,
      { version: record.version + 1, blob: next, keyRef: record.keyRef },
      change.reset ? 'all' : change.resetCodeGuesses ? 'codes' : 'none',
    );
    deps.forget(walletId); // read afresh next time: guesses may have been counted meanwhile
  } catch (err) {
    deps.forget(walletId);
    if (err instanceof GuardConflict) throw new EnclaveWalletError('WALLET_CONFLICT', 'the wallet changed while it was re-sealed; nothing was changed');
    throw err;
  }
  return next;
}

/** The passkey slots of the next version: those of `blob` (a blob before slots has none), less or plus one. */
function passkeysAfter(blob: SealedBlob, own: SharedOpen, binding: SlotBinding, walletKey: Uint8Array, createdAt: number, change: Change): Slot[] {
  const slots = own.walletKey && !change.dropPasskeys ? (blob.slots ?? []).filter((sl) => sl.kind === SLOT_PASSKEY) : [];
  if (change.removePasskey) {
    const gone = passkeySlotOf(slots, change.removePasskey);
    if (!gone) throw new EnclaveWalletError('FACTOR_NOT_FOUND', 'this wallet has no passkey with this credential id');
    return slots.filter((sl) => sl !== gone);
  }
  const added = change.addPasskey;
  if (!added) return slots;
  if (passkeySlotOf(slots, added.params.credentialId)) throw new EnclaveWalletError('PASSKEY_EXISTS', 'this passkey is already one of the wallet’s');
  if (slots.length >= MAX_PASSKEYS) throw new EnclaveWalletError('PASSKEY_LIMIT_REACHED', `a wallet has at most ${MAX_PASSKEYS} passkeys`);
  return [...slots, wrapSlot(SLOT_PASSKEY, binding, own.dataKey, added.prf, walletKey, { passkey: added.params, createdAt })];
}

/** A version-4 blob: the secret under the wallet key, which each slot wraps; the slot list in the AEAD's AAD. */
export function sealSlots(
  p: SlotBinding & { dataKey: Uint8Array; walletKey: Uint8Array; secret: WalletSecret; slots: Slot[]; generation: number },
): Uint8Array {
  const nonce = randomBytes(24);
  const pinSlot = p.slots.find((sl) => sl.kind === SLOT_PIN);
  if (!pinSlot?.pin) throw new RangeError('a blob needs its PIN slot');
  const header = {
    version: BLOB_VERSION,
    generation: p.generation,
    walletId: p.walletId,
    ownerUserId: p.ownerUserId,
    kmsKeyId: p.kmsKeyId,
    kmsCiphertext: p.kmsCiphertext,
    argon2: pinSlot.pin,
    slots: p.slots,
    aeadId: AEAD_XCHACHA20_POLY1305,
    nonce,
  };
  let ciphertext: Uint8Array;
  {
    using plaintext = encodeWalletSecret(BLOB_VERSION, p.secret);
    // Secret + tag (16).
    ciphertext = sealXChaCha20Poly1305(p.walletKey, nonce, associatedData(header, plaintext.length + 16), plaintext);
  }
  const state: AttemptState = { failedAttempts: 0, lockedUntilMs: 0 };
  const sealedPart = encodeSealedPart({ ...header, ciphertext });
  using macKey = stateKey(p.dataKey);
  return encodeBlob({ ...header, ciphertext, state, stateMac: hmac(sha256, macKey, stateMacInput(sealedPart, state)) });
}
