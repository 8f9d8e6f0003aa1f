/**
 * The passkey operations (docs/passkeys.md): adding a passkey (the PIN or the recovery code authorises it, an
 * assertion of the new credential proves it), removing one, and opening a wallet with whatever factor an
 * envelope carries (the PIN, a recovery code, or a passkey assertion).
 */
import { EnclaveWalletError, parseRecoveryCode, RecoveryCodeFormatError, type DecodedRequestOf, type ResponseOf } from '@enclave-wallet/proto';
import { passkeyChallenge, passkeyRegistrationDigest, passkeyRemovalDigest, toBase64Url } from '@enclave-wallet/proto/passkey';
import { passkeyOriginAllowed, type PasskeyConfig } from '../config.js';
import type { Binding, PinEnvelope } from '../envelope/pin-envelope.js';
import type { OpenedWallet, Sealer } from '../sealing/seal.js';
import { SecretBytes } from '../secret.js';
import { parseUserId, parseWalletId, type UserId, type WalletId } from '@enclave-wallet/proto/ids';
import { challengeBindingOf, type EnvelopePasskey } from './envelope-fields.js';
import type { PasskeyOpen } from './open.js';
import { checkAssertion, PasskeyRefusal } from './webauthn.js';

/** What these operations use of the enclave service. */
export interface PasskeyServiceParts {
  passkeys(): PasskeyConfig | undefined;
  envelope(wire: Uint8Array | null | undefined, binding: Binding, beforeClaim?: (e: PinEnvelope) => { digest: string } | void): Promise<PinEnvelope>;
  withWallet<T>(
    req: { userId?: string | null; walletId?: string | null; sealedBlob?: Uint8Array | null },
    envelope: PinEnvelope,
    use: (wallet: OpenedWallet, envelope: PinEnvelope, seed: () => Promise<Uint8Array>) => Promise<T>,
  ): Promise<T>;
}

const refused = (r: PasskeyRefusal, counted = false): EnclaveWalletError =>
  new EnclaveWalletError('PASSKEY_INVALID', `the passkey assertion was refused: ${r.reason}${counted ? '' : ' (nothing was counted)'}`, { reason: r.reason });

/**
 * Adds a passkey. The new credential's assertion is checked before the wallet is opened, so a bad passkey costs
 * no PIN guess (and is not counted): its challenge is the envelope's, its origin one of the configuration's, its
 * RP id the configuration's, its signature by the key it brings. Then the PIN (or code) opens the wallet, and the
 * next version has a slot that wraps the wallet key under the PRF output.
 */
export async function addPasskey(service: PasskeyServiceParts, req: DecodedRequestOf<'addPasskey'>): Promise<ResponseOf<'addPasskey'>> {
  const config = service.passkeys();
  if (!config) throw new EnclaveWalletError('UNSUPPORTED_OPERATION', 'this enclave has no passkey origins configured (ENCLAVE_PASSKEY_ORIGINS)');
  const sub = parseUserId(req.userId);
  const walletId = parseWalletId(req.walletId);
  const envelope = await service.envelope(req.pinEnvelope, { purpose: 'add-passkey', sub, walletId }, (e) => ({ digest: registrationDigestOf(e.passkey!) }));
  const passkey = envelope.passkey!;
  let origin: string;
  let signCount: number;
  try {
    origin = originOf(passkey.clientDataJSON);
    if (!passkeyOriginAllowed(config, origin)) throw new PasskeyRefusal('origin', 'the passkey was made on an origin this enclave does not serve');
    ({ signCount } = checkAssertion(passkey, {
      challenge: passkeyChallenge(challengeBindingOf(envelope)),
      rpId: config.rpId,
      origins: [origin],
      algorithm: passkey.algorithm!,
      publicKey: passkey.publicKey!,
    }));
  } catch (err) {
    envelope.prf?.dispose();
    envelope.pin.dispose();
    envelope.recoveryCode?.dispose();
    throw err instanceof PasskeyRefusal ? refused(err) : err;
  }
  const params = { credentialId: passkey.credentialId, algorithm: passkey.algorithm!, publicKey: passkey.publicKey!, rpId: config.rpId, origins: [origin] };
  return service.withWallet(req, envelope, async (wallet) => ({
    sealedBlob: await wallet.addPasskey({ params, prf: envelope.prf!, signCount }),
    credentialId: toBase64Url(passkey.credentialId),
  }));
}

/** Removes a passkey; any factor of the wallet authorises it but a recovery code (the PIN slot always stays). */
export async function removePasskey(service: PasskeyServiceParts, req: DecodedRequestOf<'removePasskey'>): Promise<ResponseOf<'removePasskey'>> {
  const credentialId = req.credentialId ?? new Uint8Array(0);
  if (credentialId.length < 1 || credentialId.length > 255) throw new EnclaveWalletError('VALIDATION_FAILED', 'credentialId is 1 to 255 bytes');
  const envelope = await service.envelope(req.pinEnvelope, {
    purpose: 'remove-passkey',
    sub: parseUserId(req.userId),
    walletId: parseWalletId(req.walletId),
    digest: passkeyRemovalDigest(credentialId),
  });
  return service.withWallet(req, envelope, async (wallet) => ({ sealedBlob: await wallet.removePasskey(credentialId) }));
}

/**
 * Opens a wallet with the factor an envelope carries: a passkey assertion (not at add-passkey, where the passkey
 * is the new credential), a recovery code (add-passkey only; a reset opens with it in recovery.ts), or the PIN.
 */
export async function openWithEnvelope(sealer: Sealer, blob: Uint8Array, walletId: WalletId, userId: UserId, envelope: PinEnvelope): Promise<OpenedWallet> {
  if (envelope.passkey && envelope.purpose !== 'add-passkey') return sealer.openWithPasskey(blob, walletId, userId, envelope.prf!, passkeyOpenOf(envelope));
  if (envelope.recoveryCode) {
    using code = codeOf(envelope.recoveryCode);
    return sealer.openWithRecoveryCode(blob, walletId, userId, code);
  }
  return sealer.open(blob, walletId, userId, envelope.pin);
}

/** The checks of an envelope's assertion against the slot of its credential. */
export function passkeyOpenOf(envelope: PinEnvelope): PasskeyOpen {
  const passkey = envelope.passkey!;
  const challenge = passkeyChallenge(challengeBindingOf(envelope));
  return {
    credentialId: passkey.credentialId,
    check: (slot) => {
      const p = slot.passkey!;
      return checkAssertion(passkey, { challenge, rpId: p.rpId, origins: p.origins, algorithm: p.algorithm, publicKey: p.publicKey });
    },
  };
}

function registrationDigestOf(p: EnvelopePasskey): string {
  return passkeyRegistrationDigest({ credentialId: p.credentialId, algorithm: p.algorithm!, publicKey: p.publicKey! });
}

function originOf(clientDataJSON: Uint8Array): string {
  try {
    const origin = (JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(clientDataJSON)) as { origin?: unknown }).origin;
    if (typeof origin === 'string') return origin;
  } catch {
    // refused below
  }
  throw new PasskeyRefusal('type', 'clientDataJSON is not a JSON object with an origin');
}

/** The 16 bytes of a typed recovery code; a typo is RECOVERY_CODE_INVALID. */
function codeOf(typed: Uint8Array): SecretBytes {
  try {
    return SecretBytes.adopt(parseRecoveryCode(typed));
  } catch (err) {
    if (err instanceof RecoveryCodeFormatError) throw new EnclaveWalletError('RECOVERY_CODE_INVALID', err.message);
    throw err;
  }
}
