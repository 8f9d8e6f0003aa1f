/**
 * The wallet calls of the API (SPEC §9): making, importing, listing and reading wallets, accounts, the PIN, the
 * recovery phrase's export, and recovery with its code (docs/recovery.md).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { AttestedClient, walletPath } from './attested.js';
import { newRecipientKey, openRecoveryPhrase, toBase64 } from './envelope.js';
import { asFactor, factorFields, openRecoveryCode, type Factor, type FactorInfo } from './factors.js';
import { toHex0x } from './proto-copy/bytes.js';
import { fromBase64Url } from './proto-copy/passkey.js';
import { passkeySupport, sealRegistration, type PasskeySupport } from './passkey.js';
import { forgetCredential } from './webauthn.js';
import { EnclaveWalletApiError } from './errors.js';
import type { Account, CreatedWallet, Hex, Network, Wallet } from './types.js';

/** @internal proto-copy/bytes' toHex0x, typed as the Hex it is. */
export const hex0x = toHex0x as (bytes: Uint8Array) => Hex;
const addressKey = (walletId: string, network: Network, index: number): string => `${walletId}\n${network}\n${index}`;

export class WalletClient extends AttestedClient {
  /**
   * Account addresses this client has seen, by wallet, network and index. Derivation makes them fixed for
   * good, so signing without an address costs no `GET /v1/wallets/{id}` after the first.
   */
  private readonly addresses = new Map<string, string>();

  // --- wallets -------------------------------------------------------------

  /**
   * Makes a wallet under `pin`. The enclave also makes its recovery code, sealed to a key this call makes (and
   * zeroes); the code is returned once, as `recoveryCode` next to the wallet (see CreatedWallet).
   */
  async createWallet(pin: string): Promise<CreatedWallet> {
    const { answer: wallet, recoveryCode } = await this.withRecoveryKey(async (recoveryPublicKey, digest) => {
      const pinEnvelope = await this.seal({ purpose: 'create-wallet', digest }, { pin });
      return this.request<Wallet & { encryptedRecoveryCode?: string }>('POST', '/v1/wallets', {
        body: { pinEnvelope, recoveryPublicKey },
        consumesEnvelope: true,
      });
    });
    return withCode(this.remember(wallet), recoveryCode);
  }

  async listWallets(): Promise<Wallet[]> {
    return (await this.request<{ wallets: Wallet[] }>('GET', '/v1/wallets')).wallets.map((w) => this.remember(w));
  }

  async getWallet(walletId: string): Promise<Wallet> {
    return this.remember(await this.request<Wallet>('GET', walletPath(walletId)));
  }

  async deriveAccount(walletId: string, network: Network, index: number, pin: string | Factor): Promise<Account> {
    const pinEnvelope = await this.seal({ purpose: 'derive-account', walletId }, asFactor(pin));
    const account = await this.request<Account>('POST', walletPath(walletId, '/accounts'), {
      body: { network, index, pinEnvelope },
      consumesEnvelope: true,
    });
    this.addresses.set(addressKey(walletId, account.network, account.index), account.address);
    return account;
  }

  protected remember(answer: Wallet & { encryptedRecoveryCode?: string }): Wallet {
    const { encryptedRecoveryCode: _, ...wallet } = answer;
    for (const a of wallet.accounts ?? []) this.addresses.set(addressKey(wallet.walletId, a.network, a.index), a.address);
    return wallet;
  }

  /** A new PIN, authorized by the current one (or `{ passkey: true }`). */
  async changePin(walletId: string, pin: string | Factor, newPin: string): Promise<void> {
    const pinEnvelope = await this.seal({ purpose: 'change-pin', walletId, newPin }, asFactor(pin));
    await this.request('POST', walletPath(walletId, '/pin'), { body: { pinEnvelope }, consumesEnvelope: true });
  }

  /** The recovery phrase, encrypted by the enclave to a key this call makes and keeps; returned in clear to the caller. */
  async exportRecoveryPhrase(walletId: string, pin: string | Factor): Promise<string> {
    const { secretKey, publicKey } = newRecipientKey();
    try {
      const pinEnvelope = await this.seal({ purpose: 'export', walletId, digest: hex0x(sha256(publicKey)) }, asFactor(pin));
      const out = await this.request<{ encryptedRecoveryPhrase: string }>('POST', walletPath(walletId, '/export'), {
        body: { pinEnvelope, recipientPublicKey: toBase64(publicKey) },
        consumesEnvelope: true,
      });
      return openRecoveryPhrase(secretKey, out.encryptedRecoveryPhrase);
    } finally {
      secretKey.fill(0);
    }
  }

  /** Makes a wallet from a recovery phrase under `pin`; like createWallet, with a new recovery code returned once. */
  async importWallet(mnemonic: string, pin: string): Promise<CreatedWallet> {
    const { answer: wallet, recoveryCode } = await this.withRecoveryKey(async (recoveryPublicKey, digest) => {
      const recoveryEnvelope = await this.seal({ purpose: 'import', digest, mnemonic }, { pin });
      return this.request<Wallet & { encryptedRecoveryCode?: string }>('POST', '/v1/wallets/import', {
        body: { recoveryEnvelope, recoveryPublicKey },
        consumesEnvelope: true,
      });
    });
    return withCode(this.remember(wallet), recoveryCode);
  }

  // --- recovery (docs/recovery.md) -------------------------------------------

  /**
   * Sets a new PIN with the recovery code (also when the wallet is locked for wrong PINs; the lock-out ends).
   * The code used stops working; the new one is returned, to show once. Every passkey of the wallet is removed
   * (docs/passkeys.md: a passkey added with a leaked PIN must not outlive the way back); add them again after. A code with a typo is refused here
   * (RECOVERY_CODE_INVALID, status 0) before anything is sent or counted.
   *
   * @throws {EnclaveWalletApiError} RECOVERY_CODE_INVALID, RECOVERY_CODE_WRONG (attemptsLeft), RECOVERY_LOCKED (retryAfter), PIN_TOO_WEAK…
   */
  async resetPin(walletId: string, recoveryCode: string | { recoveryCode: string }, newPin: string): Promise<string>;
  /**
   * Sets a new PIN with one of the wallet's passkeys (the PIN lock-out ends too). The recovery code is kept, and
   * `undefined` returned; with `newRecoveryCode: true` a new code replaces it and is returned, to show once.
   */
  async resetPin(walletId: string, passkey: { passkey: true; newRecoveryCode?: boolean }, newPin: string): Promise<string | undefined>;
  async resetPin(
    walletId: string,
    factor: string | { recoveryCode: string } | { passkey: true; newRecoveryCode?: boolean },
    newPin: string,
  ): Promise<string | undefined> {
    const path = walletPath(walletId, '/pin/reset');
    const passkey = typeof factor === 'object' && 'passkey' in factor && factor.passkey === true;
    if (passkey && !factor.newRecoveryCode) {
      // No recovery key: the enclave keeps the code (docs/passkeys.md), and the envelope binds no digest.
      const resetEnvelope = await this.seal({ purpose: 'reset-pin', walletId, newPin }, { passkey: true });
      await this.request('POST', path, { body: { resetEnvelope }, consumesEnvelope: true });
      return undefined;
    }
    const recovery: Factor = passkey
      ? { passkey: true }
      : { recoveryCode: typeof factor === 'string' ? factor : (factor as { recoveryCode: string }).recoveryCode };
    const { recoveryCode: code } = await this.withRecoveryKey(async (recoveryPublicKey, digest) => {
      const resetEnvelope = await this.seal({ purpose: 'reset-pin', walletId, digest, newPin }, recovery);
      return this.request<{ encryptedRecoveryCode?: string }>('POST', path, {
        body: { resetEnvelope, recoveryPublicKey },
        consumesEnvelope: true,
      });
    });
    return code;
  }

  /** A new recovery code, authorized by the PIN (or a passkey); the old code stops working. Returned once, to show the user. */
  async newRecoveryCode(walletId: string, pin: string | Factor): Promise<string> {
    const { recoveryCode } = await this.withRecoveryKey(async (recoveryPublicKey, digest) => {
      const pinEnvelope = await this.seal({ purpose: 'recovery-code', walletId, digest }, asFactor(pin));
      return this.request<{ encryptedRecoveryCode?: string }>('POST', walletPath(walletId, '/recovery-code'), {
        body: { pinEnvelope, recoveryPublicKey },
        consumesEnvelope: true,
      });
    });
    return recoveryCode;
  }

  /** The factors that open a wallet: kinds and dates (and passkeys' credential ids), nothing secret. */
  async listFactors(walletId: string): Promise<FactorInfo[]> {
    return (await this.request<{ factors: FactorInfo[] }>('GET', walletPath(walletId, '/factors'))).factors;
  }

  // --- passkeys (docs/passkeys.md) -------------------------------------------

  /** Whether this browser can open a wallet with a passkey, with a sentence for the user. */
  passkeySupport(): Promise<PasskeySupport> {
    return passkeySupport(this.options.passkeys);
  }

  /**
   * Makes a passkey (user verification, PRF with the wallet's salt) and adds it to the wallet, authorized by the PIN
   * or the recovery code. Returns its credential id (base64url). An authenticator without PRF is refused before
   * anything is sent (PASSKEY_PRF_UNSUPPORTED), and a credential the wallet did not take is offered to the browser
   * to forget.
   *
   * @throws {EnclaveWalletApiError} PASSKEY_PRF_UNSUPPORTED, PASSKEY_CANCELLED, PASSKEY_EXISTS, PASSKEY_LIMIT_REACHED, PIN_INVALID…
   */
  async addPasskey(walletId: string, factor: { pin: string } | { recoveryCode: string }): Promise<{ credentialId: string }> {
    const fields = factorFields(factor);
    const session = this.session;
    if (!session) throw new EnclaveWalletApiError({ code: 'UNAUTHENTICATED', message: 'log in first', status: 401 });
    const { publicKey } = await this.attestation();
    const exclude = await this.passkeyIds(walletId);
    const user = { name: session.user.email || session.user.id, displayName: `${session.user.email || session.user.id} (wallet ${walletId.slice(0, 8)})` };
    const { envelope, credentialId } = await sealRegistration(
      publicKey,
      { sub: session.user.id, walletId, ...fields },
      user,
      exclude,
      this.options.passkeys ?? {},
      this.now,
    );
    try {
      await this.request('POST', walletPath(walletId, '/passkeys'), { body: { pinEnvelope: envelope }, consumesEnvelope: true });
    } catch (err) {
      // Refused (a wrong PIN, a full wallet): the browser may forget the credential, unless the wallet already holds it.
      if (err instanceof EnclaveWalletApiError && err.status >= 400 && err.status < 500 && err.code !== 'PASSKEY_EXISTS') {
        forgetCredential(this.options.passkeys ?? {}, fromBase64Url(credentialId));
      }
      throw err;
    }
    return { credentialId };
  }

  /** Removes one passkey (its credential id, base64url) from the wallet, authorized by the PIN or a passkey (this one too). The PIN stays. */
  async removePasskey(walletId: string, credentialId: string, factor: string | Factor): Promise<void> {
    const id = fromBase64Url(credentialId);
    const pinEnvelope = await this.seal({ purpose: 'remove-passkey', walletId, digest: hex0x(sha256(id)) }, asFactor(factor));
    await this.request('DELETE', walletPath(walletId, `/passkeys/${encodeURIComponent(credentialId)}`), {
      body: { pinEnvelope },
      consumesEnvelope: true,
    });
  }

  /**
   * Makes an X25519 key pair for one call, runs it with the key (base64) and the digest its envelope binds, opens
   * the recovery code the enclave sealed to it, and zeroes the secret key, whatever happens.
   */
  private async withRecoveryKey<T extends { encryptedRecoveryCode?: string }>(
    call: (recoveryPublicKey: string, digest: Hex) => Promise<T>,
  ): Promise<{ answer: T; recoveryCode: string }> {
    const { secretKey, publicKey } = newRecipientKey();
    try {
      const answer = await call(toBase64(publicKey), hex0x(sha256(publicKey)));
      return { answer, recoveryCode: openRecoveryCode(secretKey, answer.encryptedRecoveryCode) };
    } finally {
      secretKey.fill(0);
    }
  }

  /** The address of account `index` (default 0) of `network` in a wallet. */
  async accountAddress(walletId: string, network: Network, address?: string, index = 0): Promise<string> {
    if (address) return address;
    const known = this.addresses.get(addressKey(walletId, network, index));
    if (known) return known;
    const wallet = await this.getWallet(walletId);
    const account = wallet.accounts.find((a) => a.network === network && a.index === index);
    if (!account) throw new EnclaveWalletApiError({ code: 'ACCOUNT_NOT_FOUND', message: `the wallet has no ${network} account ${index}`, status: 404 });
    return account.address;
  }
}

/** The wallet with its recovery code as a property JSON.stringify and spreads leave out. */
function withCode(wallet: Wallet, recoveryCode: string): CreatedWallet {
  return Object.defineProperty(wallet, 'recoveryCode', { value: recoveryCode, enumerable: false }) as CreatedWallet;
}
