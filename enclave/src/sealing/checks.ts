/**
 * What is checked before a guess is counted (sealing/seal.ts): that a blob is bound to the wallet and user asked
 * for, that the guard's record and its blob agree, that the host's blob is the current one or an older version
 * of it, and that the blob has the factor presented. Each refusal costs no guess.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';
import { equalBytes } from '@enclave-wallet/proto/bytes';
import type { Factor, GuardRecord } from '../guard/guard.js';
import { decodeBlob, type SealedBlob } from './blob.js';
import { keyRefOf } from './data-key.js';
import { withinBounds } from './kdf.js';
import { SLOT_PASSKEY, SLOT_RECOVERY_CODE } from './slots.js';

/** A blob sealed for `walletId` of `userId`, or BLOB_MISMATCH. */
export function checkBinding(blob: SealedBlob, walletId: WalletId, userId: UserId): void {
  if (blob.walletId !== walletId)
    throw new EnclaveWalletError('BLOB_MISMATCH', 'the sealed blob belongs to another wallet', { expected: walletId, actual: blob.walletId });
  if (blob.ownerUserId !== userId) throw new EnclaveWalletError('BLOB_MISMATCH', 'the sealed blob belongs to another user');
}

/**
 * The guard's current blob of `record`, checked against the record and the wallet asked for; and the host's blob
 * when it is not that one (`stale`: an older version of this wallet, whose state MAC is checked once the data key is known).
 *
 * @throws {EnclaveWalletError} BLOB_MISMATCH, BLOB_INVALID, GUARD_UNAVAILABLE
 */
export function checkRecord(
  record: GuardRecord,
  presentedBytes: Uint8Array,
  walletId: WalletId,
  userId: UserId,
): { blob: SealedBlob; stale: (SealedBlob & { sealedPart: Uint8Array }) | undefined } {
  if (record.owner !== userId) throw new EnclaveWalletError('BLOB_MISMATCH', 'the sealed blob belongs to another user');
  const blob = decodeBlob(record.blob);
  checkBinding(blob, walletId, userId);
  if (blob.generation !== record.version || keyRefOf(blob.kmsCiphertext) !== record.keyRef) {
    throw new EnclaveWalletError('GUARD_UNAVAILABLE', 'the guard record of this wallet is inconsistent; nothing was done');
  }
  // The host's blob must be the current one, or an older version of this wallet (then the current one is used and handed back).
  const stale = equalBytes(record.blob, presentedBytes) ? undefined : decodeBlob(presentedBytes);
  if (stale) {
    if (keyRefOf(stale.kmsCiphertext) !== record.keyRef)
      throw new EnclaveWalletError('BLOB_MISMATCH', 'the sealed blob is not sealed under this wallet’s data key');
    if (stale.generation >= record.version) throw new EnclaveWalletError('BLOB_INVALID', 'the sealed blob was altered');
  }
  if (!withinBounds(blob.argon2)) throw new EnclaveWalletError('BLOB_INVALID', 'the sealed blob’s PIN-stretching cost is outside this image’s bounds');
  return { blob, stale };
}

/** A recovery code opens only a blob with a recovery-code slot, a passkey only one with a passkey slot: refused before anything is counted. */
export function requireFactor(blob: SealedBlob, factor: Factor): void {
  if (factor === 'recovery-code' && !blob.slots?.some((slot) => slot.kind === SLOT_RECOVERY_CODE))
    throw new EnclaveWalletError('FACTOR_NOT_FOUND', 'this wallet has no recovery code');
  if (factor === 'passkey' && !blob.slots?.some((slot) => slot.kind === SLOT_PASSKEY))
    throw new EnclaveWalletError('FACTOR_NOT_FOUND', 'this wallet has no passkey');
}
