/**
 * What every operation of the enclave stands on (service.ts has the operations): its lifecycle (identity, health,
 * init, credentials, attestation) and the plumbing each wallet operation shares: the envelope's checks in their
 * order, opening a wallet with an envelope's factor, and sealing a new wallet.
 */
import { performance } from 'node:perf_hooks';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '@enclave-wallet/proto/bytes';
import {
  EnclaveWalletError,
  GUARD_CREDENTIALS_CONTEXT,
  networkFromProto,
  networkToProto,
  v1,
  type DecodedRequestOf,
  type ResponseOf,
} from '@enclave-wallet/proto';
import { validateInit, credentialsFrom, type StartupConfig } from './config.js';
import { EnvelopeKey } from './envelope/hpke.js';
import { checkEnvelope, decryptPinEnvelope, precheckEnvelope, disposeEnvelope, ReplayCache, type Binding, type PinEnvelope } from './envelope/pin-envelope.js';
import { initialAccounts, PublicDerivationCache, seedFromEntropy, type Network, type PublicAccount } from './keys/derive.js';
import { DynamoGuard, parseGuardCredentials } from './guard/guard.js';
import { walletEntropy } from './keys/entropy.js';
import { EnclaveKms, RecipientKey } from './kms/client.js';
import type { Platform } from './platform/types.js';
import { ARGON2_POLICY, stretchQueue } from './sealing/kdf.js';
import { Sealer, type OpenedWallet } from './sealing/seal.js';
import { SecretBytes } from './secret.js';
import * as passkeyOps from './passkey/operations.js';
import { bytesOf } from './request-fields.js';
import { parseUserId, parseWalletId, type UserId, type WalletId } from '@enclave-wallet/proto/ids';
import { sealCode } from './recovery.js';
import { phases } from './phases.js';

/** The enclave software version. */
export const ENCLAVE_VERSION = '0.1.0';
/** How long clients may rely on an attestation answer before fetching a new one. */
export const ATTESTATION_TTL_MS = 5 * 60_000;
/**
 * The `user_data` of the documents clients verify: the KDF parameters this image enforces, so that a client
 * reads them from the signed document, not from the host (docs/attestation.md#user-data).
 */
const ATTESTATION_USER_DATA = new TextEncoder().encode(
  JSON.stringify({
    v: 1,
    kdf: { algorithm: 'argon2id', memoryKiB: ARGON2_POLICY.memoryKiB, iterations: ARGON2_POLICY.iterations, parallelism: ARGON2_POLICY.parallelism },
  }),
);
/** Largest attestation nonce (SPEC §2: 64 bytes). */
export const MAX_NONCE_BYTES = 64;
/** Entropy of a new wallet: 32 bytes → 24 words. */
export const ENTROPY_BYTES = 32;

export const toProtoAccount = (a: PublicAccount): v1.Account.$Properties => ({
  network: networkToProto(a.network),
  index: a.index,
  path: a.path,
  address: a.address,
});

export interface ServiceOptions {
  startup: StartupConfig;
  platform: Platform;
  envelopeKey: EnvelopeKey;
  recipientKey?: RecipientKey;
  now?: () => number;
}

export abstract class ServiceCore {
  protected readonly started: number;
  protected readonly now: () => number;
  protected readonly replay: ReplayCache;
  /** Public keys and addresses of derivations already made (keys/derive.ts): no point multiplication is repeated per signature. */
  protected readonly derivations = new PublicDerivationCache();
  protected readonly recipientKey: RecipientKey;
  protected kms: EnclaveKms | undefined;
  protected sealer: Sealer | undefined;
  private initRequest: string | undefined;

  constructor(protected readonly options: ServiceOptions) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.replay = new ReplayCache(undefined, options.startup.envelopesPerUser);
    this.recipientKey = options.recipientKey ?? new RecipientKey();
  }

  identity(): v1.EnclaveIdentity.$Properties {
    return {
      mode: this.options.platform.mode === 'nitro' ? v1.PlatformMode.PLATFORM_MODE_NITRO : v1.PlatformMode.PLATFORM_MODE_SIMULATED,
      envelopePublicKey: this.options.envelopeKey.publicKey,
      pcrs: Object.fromEntries(this.options.platform.pcrs()),
      kdf: { algorithm: 'argon2id', memoryKib: ARGON2_POLICY.memoryKiB, iterations: ARGON2_POLICY.iterations, parallelism: ARGON2_POLICY.parallelism },
      version: ENCLAVE_VERSION,
    };
  }

  /** Writes what this enclave still owes the guard (right guesses' clears waiting to be carried): on a graceful stop. */
  async settleGuard(): Promise<void> {
    await this.sealer?.flushClears();
  }

  async health(): Promise<ResponseOf<'health'>> {
    const queue = stretchQueue.depth;
    const kms = this.kms;
    return {
      initialized: this.sealer !== undefined,
      uptimeMs: this.now() - this.started,
      identity: this.identity(),
      stats: {
        stretchesRunning: queue.running,
        stretchesWaiting: queue.waiting,
        kmsCalls: kms?.stats.calls ?? 0,
        kmsErrors: kms?.stats.errors ?? 0,
        kmsMicros: kms?.stats.micros ?? 0,
        dataKeysCached: kms?.dataKeys.size ?? 0,
        phases: phases.snapshot(),
      },
    };
  }

  async init(req: DecodedRequestOf<'init'>): Promise<ResponseOf<'init'>> {
    const { kms: config, guard } = validateInit(req, this.options.startup);
    // Re-init may only repeat the same configuration (a host restart); new KMS credentials go through updateCredentials.
    // The guard's credentials are decrypted at the first init only, so their ciphertext is part of the configuration:
    // a re-init with another one is refused, not answered "OK" while the old credentials stay in use.
    const fingerprint = JSON.stringify([
      config.region,
      config.endpoint ?? '',
      config.keyId,
      guard.table,
      guard.endpoint ?? '',
      toHex(sha256(guard.credentialsCiphertext)),
    ]);
    if (this.initRequest !== undefined && this.initRequest !== fingerprint) {
      throw new EnclaveWalletError('CONFIG_REJECTED', 'the enclave is already initialised with another configuration (KMS, guard table or guard credentials)');
    }
    if (this.kms && this.sealer) {
      this.kms.updateCredentials(config.credentials);
      return { identity: this.identity() };
    }
    const kms = new EnclaveKms(config, this.options.platform, this.recipientKey);
    // The guard's credentials exist in clear only here: KMS releases them to this attested image alone.
    const credentials = parseGuardCredentials(await kms.decryptSecret(guard.credentialsCiphertext, GUARD_CREDENTIALS_CONTEXT));
    if (this.kms && this.sealer) {
      // A concurrent init won while this one waited for KMS: success only if it applied the same configuration.
      if (this.initRequest !== fingerprint)
        throw new EnclaveWalletError(
          'CONFIG_REJECTED',
          'the enclave is already initialised with another configuration (KMS, guard table or guard credentials)',
        );
      return { identity: this.identity() };
    }
    this.kms = kms;
    this.sealer = new Sealer({
      provider: kms,
      guard: new DynamoGuard(guard, credentials),
      now: this.now,
      ...(config.keyId.startsWith('arn:') ? { kmsKeyArn: config.keyId } : {}),
    });
    this.initRequest = fingerprint;
    return { identity: this.identity() };
  }

  async updateCredentials(req: DecodedRequestOf<'updateCredentials'>): Promise<ResponseOf<'updateCredentials'>> {
    const { kms } = this.ready();
    if (!req.credentials?.accessKeyId || !req.credentials.secretAccessKey) throw new EnclaveWalletError('CONFIG_REJECTED', 'credentials are required');
    kms.updateCredentials(credentialsFrom(req.credentials));
    return {};
  }

  async getAttestation(req: DecodedRequestOf<'getAttestation'>): Promise<ResponseOf<'getAttestation'>> {
    const nonce = req.nonce ?? new Uint8Array(0);
    if (nonce.length > MAX_NONCE_BYTES) throw new EnclaveWalletError('NONCE_INVALID', `the nonce is at most ${MAX_NONCE_BYTES} bytes`);
    let document: Uint8Array;
    try {
      document = this.options.platform.attest({
        publicKey: this.options.envelopeKey.publicKey,
        userData: ATTESTATION_USER_DATA,
        ...(nonce.length ? { nonce } : {}),
      });
    } catch {
      throw new EnclaveWalletError('ATTESTATION_UNAVAILABLE', 'the platform could not produce an attestation document');
    }
    return { document, identity: this.identity(), expiresAtMs: this.now() + ATTESTATION_TTL_MS };
  }

  /** 16 bytes for a recovery code, from the same mixed sources as a wallet's entropy (KMS, NSM, the CSPRNG). */
  protected async newCode(): Promise<SecretBytes> {
    const { kms } = this.ready();
    return walletEntropy({ kms: (n) => kms.generateRandom(n), platform: (n) => this.options.platform.random(n) }, 16);
  }

  protected ready(): { kms: EnclaveKms; sealer: Sealer } {
    if (!this.kms || !this.sealer) throw new EnclaveWalletError('ENCLAVE_NOT_INITIALIZED', 'the enclave has not been initialised');
    return { kms: this.kms, sealer: this.sealer };
  }

  protected network(value: v1.Network | null | undefined): Network {
    return networkFromProto(value);
  }

  /**
   * Decrypts an envelope and checks its binding (all but the digest) and
   * expiry; then `beforeClaim` runs (cheap refusals, or the work that yields
   * the digest, which it returns), and only then are the digest and the
   * nonce checked. So nothing costly runs for an envelope that was never
   * meant for this request, and no refusal burns a nonce.
   */
  protected async envelope(
    wire: Uint8Array | null | undefined,
    binding: Binding,
    beforeClaim?: (e: PinEnvelope) => { digest: string } | void,
  ): Promise<PinEnvelope> {
    return phases.time('envelope', async () => {
      const envelope = await decryptPinEnvelope(this.options.envelopeKey, bytesOf(wire, 'pinEnvelope'));
      try {
        const now = Math.floor(this.now() / 1000);
        precheckEnvelope(envelope, binding, now);
        const more = beforeClaim?.(envelope);
        checkEnvelope(envelope, { ...binding, ...(more ?? {}) }, this.replay, now);
        return envelope;
      } catch (err) {
        disposeEnvelope(envelope);
        throw err;
      }
    });
  }

  protected async sealEntropy(
    sealer: Sealer,
    walletId: WalletId,
    userId: UserId,
    entropy: Uint8Array,
    pin: Uint8Array,
    recoveryKey: Uint8Array | undefined,
  ): Promise<ResponseOf<'createWallet'>> {
    using seed = await seedFromEntropy(entropy);
    const accounts = initialAccounts(seed, this.derivations).map(toProtoAccount);
    // With the client's recovery key: a recovery code, sealed to that key alone (16 bytes; the SDK writes them out).
    using code = recoveryKey ? await this.newCode() : undefined;
    // Sealed before the wallet id is claimed: a key the code cannot be sealed to changes nothing.
    const encryptedRecoveryCode = recoveryKey && code ? await sealCode(recoveryKey, code) : undefined;
    const sealedBlob = await sealer.sealNew(walletId, userId, entropy, pin, seed, code);
    return { sealedBlob, accounts, ...(encryptedRecoveryCode ? { encryptedRecoveryCode } : {}) };
  }

  /** Opens the wallet with a checked envelope's factor (its PIN or passkey), runs `use`, and zeroes everything after (the seed is derived on first request). */
  protected async withWallet<T>(
    req: { userId?: string | null; walletId?: string | null; sealedBlob?: Uint8Array | null },
    envelope: PinEnvelope,
    use: (wallet: OpenedWallet, envelope: PinEnvelope, seed: () => Promise<Uint8Array>) => Promise<T>,
  ): Promise<T> {
    const { sealer } = this.ready();
    const userId = parseUserId(req.userId);
    const walletId = parseWalletId(req.walletId);
    const blob = bytesOf(req.sealedBlob, 'sealedBlob');
    let wallet: OpenedWallet | undefined;
    let seed: Uint8Array | undefined;
    try {
      wallet = await passkeyOps.openWithEnvelope(sealer, blob, walletId, userId, envelope);
      const opened = wallet;
      // The BIP-39 seed: sealed in the blob (version 3), or derived (PBKDF2, 2048 rounds) from an older blob's
      // entropy, and then only when the operation derives keys.
      let seeding: Promise<Uint8Array> | undefined;
      const result = await use(
        opened,
        envelope,
        () => (seeding ??= opened.seed ? Promise.resolve(opened.seed) : seedFromEntropy(opened.secret).then((s) => (seed = s))),
      );
      // The guess was counted before the answer existed; the clear of a right PIN runs on after the answer (a PIN
      // change waits for it itself). A clear that fails leaves the guess counted, and is counted in the phases.
      phases.time('guard_clear', () => opened.settled).catch(() => phases.record('guard_clear_failed', performance.now()));
      return result;
    } finally {
      disposeEnvelope(envelope);
      seed?.fill(0);
      wallet?.dispose();
    }
  }
}
