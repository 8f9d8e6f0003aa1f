/**
 * One guess at a wallet's secret (sealing/seal.ts picks the record and blob it is made against): counted in the
 * guard before its answer exists, while the KMS call and the PIN stretch run, then answered by the blob's AEAD
 * (before version 4) or by the factor's slot and the wallet key it wraps (version 4).
 */
import { openXChaCha20Poly1305 } from '../aead.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { WalletId } from '@enclave-wallet/proto/ids';
import type { Factor, GuardRecord } from '../guard/guard.js';
import { checkPasskey, settlePasskey, type PasskeyOpen, type PasskeyVerdict } from '../passkey/open.js';
import { phases } from '../phases.js';
import { SecretBytes } from '../secret.js';
import { associatedData, decodeWalletSecret, type SealedBlob, type WalletSecret } from './blob.js';
import { encryptionContext, type DataKeyProvider } from './data-key.js';
import type { Counted, GuessCounter } from './guesses.js';
import { seedKey, stretchPin } from './kdf.js';
import { slotBinding, type SharedOpen } from './opened.js';
import { SLOT_PASSKEY, SLOT_PIN, SLOT_RECOVERY_CODE, unwrapSlot, type SlotKind } from './slots.js';

/** What a guess needs from the Sealer: where data keys come from, and the guard's guess counter. */
export interface UnsealDeps {
  provider: DataKeyProvider;
  counter: GuessCounter;
}

const SLOT_OF: Record<Factor, SlotKind> = { pin: SLOT_PIN, 'recovery-code': SLOT_RECOVERY_CODE, passkey: SLOT_PASSKEY };

export const settledValue = <T>(r: PromiseSettledResult<T>): T | undefined => (r.status === 'fulfilled' ? r.value : undefined);

/**
 * One guess: counted in the guard before its answer exists, while the KMS call and the PIN stretch run; a
 * wrong PIN becomes a failure, a right one clears its guess (and the failures before it) after the answer.
 */
export async function guessSecret(
  deps: UnsealDeps,
  record: GuardRecord,
  blob: SealedBlob,
  pin: Uint8Array,
  fromCache: boolean,
  factor: Factor,
  passkey?: PasskeyOpen,
): Promise<SharedOpen> {
  const { walletId, owner: userId } = record;
  // A passkey's assertion is checked first (it needs no secret), so the write that counts it raises its counter.
  const verdict = factor === 'passkey' ? checkPasskey(record, blob.slots ?? [], passkey!) : undefined;
  if (verdict?.uncounted)
    throw new EnclaveWalletError('PASSKEY_INVALID', 'this enclave cannot check this passkey’s key (a newer enclave added it); nothing was counted', {
      reason: verdict.refusal,
    });
  const [counted, dataKeyResult, stretchedResult] = await Promise.allSettled([
    deps.counter.count(record, fromCache, factor, verdict?.raise),
    phases.time('kms', () => deps.provider.decryptDataKey(blob.kmsCiphertext, encryptionContext(walletId, userId))),
    // A PIN is stretched; a recovery code's 128 bits and a passkey's PRF output are the factor key as they are.
    factor === 'pin' ? stretchPin(pin, blob.argon2.salt, blob.argon2) : Promise.resolve(SecretBytes.copyOf(pin)),
  ]);
  const dataKey = settledValue(dataKeyResult);
  const stretched = settledValue(stretchedResult);
  let handedOver = false;
  try {
    if (counted.status === 'rejected') throw counted.reason;
    const guess = counted.value;
    if (!dataKey || !stretched) {
      deps.counter.abandoned(walletId); // counted, never answered: it stays counted
      throw !dataKey ? (dataKeyResult as PromiseRejectedResult).reason : (stretchedResult as PromiseRejectedResult).reason;
    }
    const { plaintext, walletKey } = await decryptSecret(deps.counter, walletId, blob, factor, guess, verdict, dataKey, stretched);
    let secret: WalletSecret;
    try {
      secret = decodeWalletSecret(blob.version, plaintext);
    } catch (err) {
      walletKey?.dispose();
      deps.counter.abandoned(walletId);
      throw err;
    } finally {
      plaintext.fill(0);
    }
    // The right PIN clears its guess while the caller signs; answering does not wait for it (the guess was
    // counted before the answer existed). If the clear fails, the guess stays counted (fail closed).
    const settled = deps.counter.cleared(guess);
    settled.catch(() => undefined); // observed by the caller; never an unhandled rejection
    handedOver = true;
    return { dataKey, secret, walletKey, pinKey: factor === 'pin' ? SecretBytes.copyOf(stretched) : undefined, settled };
  } finally {
    stretched?.fill(0);
    if (!handedOver) dataKey?.fill(0);
  }
}

/**
 * The secret's plaintext, and (version 4) the wallet key, opened with the factor key: a wrong factor is
 * counted as a failure; a slot that opens a secret that does not (an altered blob) is abandoned, not counted.
 */
async function decryptSecret(
  counter: GuessCounter,
  walletId: WalletId,
  blob: SealedBlob,
  factor: Factor,
  guess: Counted,
  verdict: PasskeyVerdict | undefined,
  dataKey: Uint8Array,
  factorKey: Uint8Array,
): Promise<{ plaintext: Uint8Array; walletKey?: SecretBytes }> {
  if (!blob.slots) {
    const key = seedKey(dataKey, factorKey, blob.argon2.salt);
    try {
      return { plaintext: openXChaCha20Poly1305(key, blob.nonce, associatedData(blob, blob.ciphertext.length), blob.ciphertext) };
    } catch {
      throw await counter.failed(guess);
    } finally {
      key.fill(0);
    }
  }
  // Version 4: the factor's slot gives the wallet key (or not: a wrong PIN or code), which opens the secret.
  const slot = factor === 'passkey' ? await settlePasskey(counter, guess, verdict!) : blob.slots.find((sl) => sl.kind === SLOT_OF[factor])!;
  const walletKey = unwrapSlot(slot, slotBinding(blob), dataKey, factorKey);
  if (!walletKey) throw await counter.failed(guess, factor === 'passkey' ? 'prf' : undefined);
  try {
    return { plaintext: openXChaCha20Poly1305(walletKey, blob.nonce, associatedData(blob, blob.ciphertext.length), blob.ciphertext), walletKey };
  } catch {
    walletKey.dispose();
    counter.abandoned(walletId); // the slot opened but the secret did not: an altered blob, not a wrong factor
    throw new EnclaveWalletError('BLOB_INVALID', 'the sealed blob was altered');
  }
}
