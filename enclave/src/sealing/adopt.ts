/** Wallets sealed before the guard existed (blob layout 1): adopted into a guard record once, their attempt state checked under its MAC. */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';
import { equalBytes } from '@enclave-wallet/proto/bytes';
import { createdRecord, legacyGuesses, type GuardRecord, type NewGuardRecord, type WalletGuard } from '../guard/guard.js';
import { BLOB_VERSION_1, stateMacInput, type AttemptState, type SealedBlob } from './blob.js';
import { stateKey } from './kdf.js';
import { encryptionContext, keyRefOf, type DataKeyProvider } from './data-key.js';

/**
 * A wallet sealed before the guard existed (blob layout 1, no guard record):
 * its attempt state is checked under its MAC and carried into a new guard
 * record as version 0. A layout-2 blob without a record is refused.
 */
export async function adoptLegacyBlob(
  deps: { provider: DataKeyProvider; guard: WalletGuard; now: () => number },
  blob: SealedBlob,
  bytes: Uint8Array,
  walletId: WalletId,
  userId: UserId,
): Promise<GuardRecord | undefined> {
  if (blob.version !== BLOB_VERSION_1) throw new EnclaveWalletError('BLOB_INVALID', 'this wallet has no guard record; it was not created by this deployment');
  const dataKey = await deps.provider.decryptDataKey(blob.kmsCiphertext, encryptionContext(walletId, userId));
  let state: AttemptState;
  try {
    if (!stateMacValid(blob as SealedBlob & { sealedPart: Uint8Array }, dataKey))
      throw new EnclaveWalletError('BLOB_INVALID', 'the sealed blob’s attempt state was altered');
    state = blob.state;
  } finally {
    dataKey.fill(0);
  }
  const record: NewGuardRecord = {
    walletId,
    owner: userId,
    keyRef: keyRefOf(blob.kmsCiphertext),
    version: 0,
    blob: bytes,
    guesses: legacyGuesses(state.failedAttempts, state.lockedUntilMs, deps.now()),
  };
  try {
    await deps.guard.create(record);
    return createdRecord(record);
  } catch (err) {
    if (err instanceof EnclaveWalletError && err.code === 'WALLET_EXISTS') return undefined;
    throw err;
  }
}

/** Whether a blob's attempt-state MAC (over the whole sealed part) checks out under its data key: it was written by an enclave, unaltered. */
export function stateMacValid(blob: SealedBlob & { sealedPart: Uint8Array }, dataKey: Uint8Array): boolean {
  const macKey = stateKey(dataKey);
  try {
    return equalBytes(hmac(sha256, macKey, stateMacInput(blob.sealedPart, blob.state)), blob.stateMac);
  } finally {
    macKey.fill(0);
  }
}
