/**
 * Passkeys in the SDK (docs/passkeys.md): the envelope of a request authorized by a passkey, and the registration
 * of a new one. The binding (purpose, user, wallet, network, address, kind, cluster, digest, expiry, nonce) is
 * chosen first; the assertion's challenge is its hash (`passkeyChallenge`, shared with the enclave), and the
 * envelope sealed afterwards carries the same fields, the assertion and the PRF output for the wallet's salt.
 * The WebAuthn calls themselves are in webauthn.ts.
 */
import { passkeyChallenge, passkeyPrfSalt, passkeyRegistrationDigest, toBase64Url } from './proto-copy/passkey.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { envelopeStamp, sealEnvelopeAsync, type EnvelopeBody } from './envelope.js';
import { EnclaveWalletApiError } from './errors.js';
import { createCredential, forgetCredential, getAssertion, type PasskeyAssertion, type PasskeyOptions } from './webauthn.js';

export { passkeySupport, type PasskeyCredentials, type PasskeyOptions, type PasskeySupport } from './webauthn.js';

/** An envelope body before its factor, stamp and passkey: what a request binds. */
type Binding = Omit<EnvelopeBody, 'pin' | 'recoveryCode' | 'passkey'> & { sub: string; walletId: string };

const te = new TextEncoder();

function assertionFields(a: PasskeyAssertion): NonNullable<EnvelopeBody['passkey']> {
  return {
    credentialId: toBase64Url(a.credentialId),
    authenticatorData: toBase64Url(a.authenticatorData),
    clientDataJSON: toBase64Url(a.clientDataJSON),
    signature: toBase64Url(a.signature),
  };
}

/**
 * The WebAuthn user handle of a wallet's passkeys: 16 bytes of SHA-256 of the wallet id. One per wallet, so an
 * authenticator keeps one passkey per wallet, and a passkey made again for a wallet (after its removal) replaces
 * the stale one instead of sitting beside it. Not a secret, and checked by no one.
 */
export const passkeyUserHandle = (walletId: string): Uint8Array => sha256(te.encode(`enclave-wallet/passkey-user/v1\0${walletId}`)).slice(0, 16);

/**
 * Seals an envelope authorized by one of `allow` (the wallet's credential ids): the user is asked for the passkey
 * once the expiry and nonce are chosen, and the PRF output is zeroed once sealed.
 */
export async function sealWithPasskey(enclaveKey: Uint8Array, body: Binding, allow: Uint8Array[], options: PasskeyOptions, now: () => number): Promise<string> {
  if (!allow.length) {
    throw new EnclaveWalletApiError({
      code: 'FACTOR_NOT_FOUND',
      message: 'this wallet has no passkey: add one with the PIN (addPasskey); nothing was sent',
      status: 0,
    });
  }
  const stamp = envelopeStamp(now);
  const assertion = await getAssertion(options, { challenge: passkeyChallenge({ ...body, ...stamp }), salt: passkeyPrfSalt(body.walletId), allow });
  try {
    return await sealEnvelopeAsync(enclaveKey, { ...body, ...stamp, passkey: assertionFields(assertion) }, assertion.prf);
  } finally {
    assertion.prf.fill(0);
  }
}

/**
 * Makes a passkey for a wallet and seals its registration (purpose `add-passkey`): the credential is created (its
 * id, algorithm and key bound into the envelope's digest), proven by an assertion of its own over that binding
 * with the PRF output, and authorized by `factor` (the PIN or the recovery code). A passkey without PRF output is
 * refused here (PASSKEY_PRF_UNSUPPORTED) and nothing is sent.
 */
export async function sealRegistration(
  enclaveKey: Uint8Array,
  body: { sub: string; walletId: string; pin?: string; recoveryCode?: string },
  user: { name: string; displayName: string },
  exclude: Uint8Array[],
  options: PasskeyOptions,
  now: () => number,
): Promise<{ envelope: string; credentialId: string }> {
  const salt = passkeyPrfSalt(body.walletId);
  const credential = await createCredential(options, { user: { id: passkeyUserHandle(body.walletId), ...user }, salt, exclude });
  const digest = passkeyRegistrationDigest(credential);
  const stamp = envelopeStamp(now);
  let assertion: PasskeyAssertion;
  try {
    assertion = await getAssertion(options, {
      challenge: passkeyChallenge({ purpose: 'add-passkey', sub: body.sub, walletId: body.walletId, digest, ...stamp }),
      salt,
      allow: [credential.credentialId],
    });
  } catch (err) {
    // The wallet will not hold this credential: the browser is asked to forget it.
    forgetCredential(options, credential.credentialId);
    if (err instanceof EnclaveWalletApiError && err.code === 'PASSKEY_PRF_UNSUPPORTED') {
      throw new EnclaveWalletApiError({ code: err.code, message: err.message.replace(/nothing was sent$/, 'nothing was added'), status: 0, cause: err });
    }
    throw err;
  }
  try {
    const credentialId = toBase64Url(credential.credentialId);
    if (toBase64Url(assertion.credentialId) !== credentialId) {
      throw new EnclaveWalletApiError({
        code: 'PASSKEY_FAILED',
        message: 'the browser answered with another passkey than the one just made; nothing was sent',
        status: 0,
      });
    }
    const envelope = await sealEnvelopeAsync(
      enclaveKey,
      {
        purpose: 'add-passkey',
        ...body,
        digest,
        ...stamp,
        passkey: { ...assertionFields(assertion), algorithm: credential.algorithm, publicKey: toBase64Url(credential.publicKey) },
      },
      assertion.prf,
    );
    return { envelope, credentialId };
  } finally {
    assertion.prf.fill(0);
  }
}
