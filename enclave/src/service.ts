/**
 * The enclave's operations (SPEC §1–§6), one method per schema operation, on the lifecycle and plumbing of
 * service-core.ts. Everything secret is created, used and zeroed here; answers carry only public accounts,
 * signatures and sealed blobs.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { EnclaveWalletError, sameAddress, type DecodedRequestOf, type ResponseOf } from '@enclave-wallet/proto';
import { entropyOfPhrase, exportPlaintext } from './keys/phrase.js';
import { RECOVERY_PHRASE_INFO, sealTo } from './envelope/hpke.js';
import { disposeEnvelope, refuseTrivialPin } from './envelope/pin-envelope.js';
import { deriveAccount } from './keys/derive.js';
import { walletEntropy } from './keys/entropy.js';
import * as recovery from './recovery.js';
import * as passkeyOps from './passkey/operations.js';
import { hex0x, required } from './request-fields.js';
import { parseUserId, parseWalletId } from '@enclave-wallet/proto/ids';
import { recoveryBinding, recoveryKeyOf } from './recovery.js';
import { phases } from './phases.js';
import { prepareSignature, signKindOf, signClusterOf, type PreparedSignature } from './signing/dispatch.js';
import { ENTROPY_BYTES, ServiceCore, toProtoAccount } from './service-core.js';

export { ENCLAVE_VERSION, ATTESTATION_TTL_MS, MAX_NONCE_BYTES, type ServiceOptions } from './service-core.js';

const invalidPhrase = (): EnclaveWalletError => new EnclaveWalletError('MNEMONIC_INVALID', 'the recovery phrase is not a valid BIP-39 English mnemonic');

export class EnclaveService extends ServiceCore {
  async createWallet(req: DecodedRequestOf<'createWallet'>): Promise<ResponseOf<'createWallet'>> {
    const { kms, sealer } = this.ready();
    const userId = parseUserId(req.userId);
    const walletId = parseWalletId(req.walletId);
    const recoveryKey = recoveryKeyOf(req.recoveryPublicKey, false);
    // Cheap refusals (binding, a trivial PIN) come before the nonce is claimed, so they cost the replay cache nothing.
    const envelope = await this.envelope(req.pinEnvelope, { purpose: 'create-wallet', sub: userId, ...recoveryBinding(recoveryKey) }, (e) => {
      refuseTrivialPin(e.pin);
    });
    try {
      using entropy = await walletEntropy({ kms: (n) => kms.generateRandom(n), platform: (n) => this.options.platform.random(n) }, ENTROPY_BYTES);
      return await this.sealEntropy(sealer, walletId, userId, entropy, envelope.pin, recoveryKey);
    } finally {
      disposeEnvelope(envelope);
    }
  }

  /** A new recovery code (the PIN authorises it), sealed to the client's key; the old code stops working. */
  newRecoveryCode(req: DecodedRequestOf<'newRecoveryCode'>): Promise<ResponseOf<'newRecoveryCode'>> {
    return recovery.newRecoveryCode(this.parts, req);
  }

  /** A new PIN with the recovery code (recovery.ts). */
  resetPin(req: DecodedRequestOf<'resetPin'>): Promise<ResponseOf<'resetPin'>> {
    return recovery.resetPin(this.parts, req);
  }

  /** The factors of a wallet (kinds and dates, nothing secret), from the guard's current blob. */
  async listFactors(req: DecodedRequestOf<'listFactors'>): Promise<ResponseOf<'listFactors'>> {
    const factors = await this.ready().sealer.listFactors(parseWalletId(req.walletId), parseUserId(req.userId));
    return {
      factors: factors.map((f) => ({
        kind: f.kind,
        createdAtMs: f.createdAt,
        lastUsedAtMs: f.lastUsedAt,
        ...(f.credentialId ? { credentialId: f.credentialId } : {}),
      })),
    };
  }

  /** Adds a passkey slot (passkey/operations.ts). */
  addPasskey(req: DecodedRequestOf<'addPasskey'>): Promise<ResponseOf<'addPasskey'>> {
    return passkeyOps.addPasskey(this.parts, req);
  }

  /** Removes a passkey slot (passkey/operations.ts). */
  removePasskey(req: DecodedRequestOf<'removePasskey'>): Promise<ResponseOf<'removePasskey'>> {
    return passkeyOps.removePasskey(this.parts, req);
  }

  /** What the recovery and passkey operations (recovery.ts, passkey/operations.ts) use of this service. */
  private readonly parts: recovery.ServiceParts & passkeyOps.PasskeyServiceParts = {
    passkeys: () => this.options.startup.passkeys,
    sealer: () => this.ready().sealer,
    envelope: (wire, binding, beforeClaim) => this.envelope(wire, binding, beforeClaim),
    withWallet: (req, envelope, use) => this.withWallet(req, envelope, use),
    newCode: () => this.newCode(),
  };

  async import(req: DecodedRequestOf<'import'>): Promise<ResponseOf<'import'>> {
    const { sealer } = this.ready();
    const userId = parseUserId(req.userId);
    const walletId = parseWalletId(req.walletId);
    const recoveryKey = recoveryKeyOf(req.recoveryPublicKey, false);
    const envelope = await this.envelope(req.recoveryEnvelope, { purpose: 'import', sub: userId, ...recoveryBinding(recoveryKey) }, (e) => {
      // Checked before the nonce is claimed; the phrase is read as bytes, never a string (keys/phrase.ts).
      using entropy = entropyOfPhrase(e.mnemonic ?? new Uint8Array(0));
      if (!entropy) throw invalidPhrase();
      refuseTrivialPin(e.pin);
    });
    try {
      using entropy = entropyOfPhrase(envelope.mnemonic!);
      if (!entropy) throw invalidPhrase();
      return await this.sealEntropy(sealer, walletId, userId, entropy, envelope.pin, recoveryKey);
    } finally {
      disposeEnvelope(envelope);
    }
  }

  async deriveAccount(req: DecodedRequestOf<'deriveAccount'>): Promise<ResponseOf<'deriveAccount'>> {
    const network = this.network(req.network);
    const index = req.index ?? 0;
    const envelope = await this.envelope(req.pinEnvelope, {
      purpose: 'derive-account',
      sub: parseUserId(req.userId),
      walletId: parseWalletId(req.walletId),
    });
    return this.withWallet(req, envelope, async (wallet, _envelope, seed) => {
      const { privateKey, ...account } = deriveAccount(await seed(), network, index, this.derivations);
      privateKey.fill(0);
      return { account: toProtoAccount(account), sealedBlob: wallet.current };
    });
  }

  async sign(req: DecodedRequestOf<'sign'>): Promise<ResponseOf<'sign'>> {
    const network = this.network(req.network);
    const userId = parseUserId(req.userId);
    const walletId = parseWalletId(req.walletId);
    const address = required(req.address, 'address');
    const kind = signKindOf(req);
    // The envelope is opened and its binding checked (user, wallet, network, account, kind, expiry) before the enclave
    // parses and hashes what it is asked to sign; its digest and nonce are checked after.
    let prepared: PreparedSignature | undefined;
    const cluster = signClusterOf(req);
    const envelope = await this.envelope(req.pinEnvelope, { purpose: 'sign', sub: userId, walletId, network, address, kind, cluster }, () => {
      prepared = prepareSignature(network, req);
      return { digest: hex0x(prepared.digest) };
    });
    const { digest, signWith } = prepared!;
    return this.withWallet(req, envelope, async (wallet, _envelope, seed) => {
      const account = await phases.time('seed', async () => deriveAccount(await seed(), network, req.accountIndex ?? 0, this.derivations));
      try {
        // The account the user approved (bound in the envelope) is the one at the index the host named, or nothing is signed.
        if (!sameAddress(network, address, account.address)) {
          throw new EnclaveWalletError('ACCOUNT_NOT_FOUND', 'the address is not the account at that index of this wallet', {
            expected: account.address,
            actual: address,
          });
        }
        const out = phases.timeSync('sign', () => signWith(account.privateKey));
        return { ...out, digest, sealedBlob: wallet.current };
      } finally {
        account.privateKey.fill(0);
      }
    });
  }

  async changePin(req: DecodedRequestOf<'changePin'>): Promise<ResponseOf<'changePin'>> {
    const envelope = await this.envelope(
      req.pinEnvelope,
      { purpose: 'change-pin', sub: parseUserId(req.userId), walletId: parseWalletId(req.walletId) },
      (e) => {
        refuseTrivialPin(e.newPin ?? '');
      },
    );
    // withWallet disposes of the envelope's PINs, the new one included.
    return this.withWallet(req, envelope, async (wallet) => ({ sealedBlob: await wallet.changePin(envelope.newPin!) }));
  }

  async export(req: DecodedRequestOf<'export'>): Promise<ResponseOf<'export'>> {
    const recipient = req.recipientPublicKey ?? new Uint8Array(0);
    if (recipient.length !== 32) throw new EnclaveWalletError('RECIPIENT_KEY_INVALID', 'recipientPublicKey must be a 32-byte X25519 key');
    const envelope = await this.envelope(req.pinEnvelope, {
      purpose: 'export',
      sub: parseUserId(req.userId),
      walletId: parseWalletId(req.walletId),
      digest: hex0x(sha256(recipient)),
    });
    return this.withWallet(req, envelope, async (wallet) => {
      // The phrase as bytes only, never a string (keys/phrase.ts).
      using plaintext = exportPlaintext(wallet.secret);
      const encryptedRecoveryPhrase = await sealTo(recipient, RECOVERY_PHRASE_INFO, plaintext);
      return { encryptedRecoveryPhrase, sealedBlob: wallet.current };
    });
  }
}
