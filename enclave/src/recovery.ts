/**
 * The recovery-code operations (docs/recovery.md): a new code made with the PIN, and a PIN reset made with the
 * code. The code is made in the enclave and leaves it only HPKE-sealed to the client's key, which the envelope
 * binds (its digest); it is sealed before anything is committed, so a key it cannot be sealed to changes nothing.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import {
  EnclaveWalletError,
  parseRecoveryCode,
  RECOVERY_CODE_INFO,
  RecoveryCodeFormatError,
  type DecodedRequestOf,
  type ResponseOf,
} from '@enclave-wallet/proto';
import { sealTo } from './envelope/hpke.js';
import { disposeEnvelope, refuseTrivialPin, type Binding, type PinEnvelope } from './envelope/pin-envelope.js';
import type { OpenedWallet, Sealer } from './sealing/seal.js';
import { SecretBytes } from './secret.js';
import { bytesOf, hex0x } from './request-fields.js';
import { parseUserId, parseWalletId } from '@enclave-wallet/proto/ids';

/** What these operations use of the enclave service. */
export interface ServiceParts {
  sealer(): Sealer;
  envelope(wire: Uint8Array | null | undefined, binding: Binding, beforeClaim?: (e: PinEnvelope) => { digest: string } | void): Promise<PinEnvelope>;
  withWallet<T>(
    req: { userId?: string | null; walletId?: string | null; sealedBlob?: Uint8Array | null },
    envelope: PinEnvelope,
    use: (wallet: OpenedWallet, envelope: PinEnvelope, seed: () => Promise<Uint8Array>) => Promise<T>,
  ): Promise<T>;
  newCode(): Promise<SecretBytes>;
}

/** A new recovery code (the PIN authorises it), sealed to the client's key; the old code stops working. */
export async function newRecoveryCode(service: ServiceParts, req: DecodedRequestOf<'newRecoveryCode'>): Promise<ResponseOf<'newRecoveryCode'>> {
  const recoveryKey = recoveryKeyOf(req.recoveryPublicKey, true)!;
  const binding = { sub: parseUserId(req.userId), walletId: parseWalletId(req.walletId), ...recoveryBinding(recoveryKey) };
  const envelope = await service.envelope(req.pinEnvelope, { purpose: 'recovery-code', ...binding });
  return service.withWallet(req, envelope, async (wallet) => {
    using code = await service.newCode();
    // Sealed before anything is committed: a key the code cannot be sealed to changes nothing.
    const encryptedRecoveryCode = await sealCode(recoveryKey, code);
    return { sealedBlob: await wallet.setRecoveryCode(code), encryptedRecoveryCode };
  });
}

/**
 * A new PIN with the recovery code: works on a wallet locked for wrong PINs (the code has a budget of its own),
 * ends the lock-out, and replaces the code, sealed to the client's key. A mistyped code (length, characters,
 * checksum) is refused before the nonce is claimed or anything is counted.
 */
export async function resetPin(service: ServiceParts, req: DecodedRequestOf<'resetPin'>): Promise<ResponseOf<'resetPin'>> {
  const sealer = service.sealer();
  const userId = parseUserId(req.userId);
  const walletId = parseWalletId(req.walletId);
  // With a passkey the recovery key is optional (without it the code is kept); with the code it is required.
  const recoveryKey = recoveryKeyOf(req.recoveryPublicKey, false);
  let code: SecretBytes | undefined;
  let envelope: PinEnvelope;
  try {
    envelope = await service.envelope(req.resetEnvelope, { purpose: 'reset-pin', sub: userId, walletId, ...recoveryBinding(recoveryKey) }, (e) => {
      refuseTrivialPin(e.newPin ?? '');
      if (e.passkey) return;
      recoveryKeyOf(recoveryKey, true);
      code = codeOf(e.recoveryCode);
    });
  } catch (err) {
    code?.dispose(); // parsed before a later check (the digest, the nonce) refused the envelope
    throw err;
  }
  if (envelope.passkey) {
    // A reset with a passkey (docs/passkeys.md): a new PIN, the lock-outs end; a new code only if a key came.
    return service.withWallet(req, envelope, async (wallet) => {
      using next = recoveryKey ? await service.newCode() : undefined;
      const encryptedRecoveryCode = recoveryKey && next ? await sealCode(recoveryKey, next) : undefined;
      return { sealedBlob: await wallet.resetPin(envelope.newPin!, next), ...(encryptedRecoveryCode ? { encryptedRecoveryCode } : {}) };
    });
  }
  let wallet: OpenedWallet | undefined;
  try {
    wallet = await sealer.openWithRecoveryCode(bytesOf(req.sealedBlob, 'sealedBlob'), walletId, userId, code!);
    using next = await service.newCode();
    const encryptedRecoveryCode = await sealCode(recoveryKey!, next);
    // The way back after losing control: a passkey added with a leaked PIN would outlive the reset, so every
    // passkey goes with it (docs/passkeys.md); the user adds theirs again.
    return { sealedBlob: await wallet.resetPin(envelope.newPin!, next, { dropPasskeys: true }), encryptedRecoveryCode };
  } finally {
    code?.dispose();
    disposeEnvelope(envelope);
    wallet?.dispose();
  }
}

/** The client's X25519 key for a recovery code: 32 bytes, required or optional. */
export function recoveryKeyOf(key: Uint8Array | null | undefined, needed: boolean): Uint8Array | undefined {
  if (!key?.length) {
    if (needed) throw new EnclaveWalletError('RECIPIENT_KEY_INVALID', 'recoveryPublicKey must be a 32-byte X25519 key');
    return undefined;
  }
  if (key.length !== 32) throw new EnclaveWalletError('RECIPIENT_KEY_INVALID', 'recoveryPublicKey must be a 32-byte X25519 key');
  return key;
}

/** The envelope binds the recovery key (its digest), so a host that swaps in a key of its own gets a refusal, not the code. */
export const recoveryBinding = (key: Uint8Array | undefined): { digest?: string } => (key ? { digest: hex0x(sha256(key)) } : {});

/** The code sealed to the client's recovery key; a key it cannot be sealed to (a low-order point) is RECIPIENT_KEY_INVALID. */
export async function sealCode(recoveryKey: Uint8Array, code: Uint8Array): Promise<Uint8Array> {
  try {
    return await sealTo(recoveryKey, RECOVERY_CODE_INFO, code);
  } catch {
    throw new EnclaveWalletError('RECIPIENT_KEY_INVALID', 'recoveryPublicKey is not a usable X25519 key');
  }
}

/** The 16 bytes of a typed recovery code; a typo is RECOVERY_CODE_INVALID, before anything is counted. */
function codeOf(typed: Uint8Array | undefined): SecretBytes {
  try {
    return SecretBytes.adopt(parseRecoveryCode(typed ?? new Uint8Array(0)));
  } catch (err) {
    if (err instanceof RecoveryCodeFormatError) throw new EnclaveWalletError('RECOVERY_CODE_INVALID', err.message);
    throw err;
  }
}
