/**
 * The enclave's operations (SPEC §1–§6), one method per schema operation.
 * Everything secret is created, used and zeroed here; answers carry only
 * public accounts, signatures and sealed blobs.
 */
import { performance } from 'node:perf_hooks';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  EnclaveWalletError,
  GUARD_CREDENTIALS_CONTEXT,
  networkFromProto,
  networkToProto,
  sameAddress,
  v1,
  type DecodedRequestOf,
  type ResponseOf,
} from '@enclave-wallet/proto';
import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39';
import { wordlist as english } from '@scure/bip39/wordlists/english.js';
import { validateInit, credentialsFrom, type StartupConfig } from './config.js';
import { EnvelopeKey, RECOVERY_PHRASE_INFO, sealTo } from './envelope/hpke.js';
import {
  checkEnvelope,
  decryptPinEnvelope,
  precheckEnvelope,
  disposeEnvelope,
  refuseTrivialPin,
  ReplayCache,
  type Binding,
  type PinEnvelope,
} from './envelope/pin-envelope.js';
import {
  deriveAccount,
  initialAccounts,
  PublicDerivationCache,
  isValidMnemonic,
  normaliseMnemonic,
  seedFromEntropy,
  type Network,
  type PublicAccount,
} from './keys/derive.js';
import { DynamoGuard, parseGuardCredentials } from './guard/guard.js';
import { walletEntropy } from './keys/entropy.js';
import { EnclaveKms, RecipientKey } from './kms/client.js';
import type { Platform } from './platform/types.js';
import { ARGON2_POLICY, stretchQueue } from './sealing/kdf.js';
import { Sealer, type OpenedWallet } from './sealing/seal.js';
import { SecretBytes } from './secret.js';
import * as recovery from './recovery.js';
import * as passkeyOps from './passkey/operations.js';
import { bytesOf, hex0x, required } from './request-fields.js';
import { recoveryBinding, recoveryKeyOf, sealCode } from './recovery.js';
import { phases } from './phases.js';
import { prepareSignature, signKindOf, signClusterOf, type PreparedSignature } from './signing/dispatch.js';

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
const ENTROPY_BYTES = 32;

const toProtoAccount = (a: PublicAccount): v1.Account.$Properties => ({ network: networkToProto(a.network), index: a.index, path: a.path, address: a.address });
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export interface ServiceOptions {
  startup: StartupConfig;
  platform: Platform;
  envelopeKey: EnvelopeKey;
  recipientKey?: RecipientKey;
  now?: () => number;
}

export class EnclaveService {
  private readonly started: number;
  private readonly now: () => number;
  private readonly replay = new ReplayCache();
  /** Public keys and addresses of derivations already made (keys/derive.ts): no point multiplication is repeated per signature. */
  private readonly derivations = new PublicDerivationCache();
  private readonly recipientKey: RecipientKey;
  private kms: EnclaveKms | undefined;
  private sealer: Sealer | undefined;
  private initRequest: string | undefined;

  constructor(private readonly options: ServiceOptions) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
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
    // Re-init may only repeat the same configuration (a host restart); new credentials go through updateCredentials.
    const fingerprint = JSON.stringify([config.region, config.endpoint ?? '', config.keyId, guard.table, guard.endpoint ?? '']);
    if (this.initRequest !== undefined && this.initRequest !== fingerprint) {
      throw new EnclaveWalletError('CONFIG_REJECTED', 'the enclave is already initialised with another KMS configuration');
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
        throw new EnclaveWalletError('CONFIG_REJECTED', 'the enclave is already initialised with another KMS configuration');
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

  async createWallet(req: DecodedRequestOf<'createWallet'>): Promise<ResponseOf<'createWallet'>> {
    const { kms, sealer } = this.ready();
    const userId = required(req.userId, 'userId');
    const walletId = required(req.walletId, 'walletId');
    const recoveryKey = recoveryKeyOf(req.recoveryPublicKey, false);
    // Cheap refusals (binding, a trivial PIN) come before the nonce is claimed, so they cost the replay cache nothing.
    const envelope = await this.envelope(req.pinEnvelope, { purpose: 'create-wallet', sub: userId, ...recoveryBinding(recoveryKey) }, (e) => {
      refuseTrivialPin(e.pin);
    });
    try {
      const entropy = await walletEntropy({ kms: (n) => kms.generateRandom(n), platform: (n) => this.options.platform.random(n) }, ENTROPY_BYTES);
      try {
        return await this.sealEntropy(sealer, walletId, userId, entropy, envelope.pin, recoveryKey);
      } finally {
        entropy.fill(0);
      }
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
    const factors = await this.ready().sealer.listFactors(required(req.walletId, 'walletId'), required(req.userId, 'userId'));
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

  /** 16 bytes for a recovery code, from the same mixed sources as a wallet's entropy (KMS, NSM, the CSPRNG). */
  private async newCode(): Promise<SecretBytes> {
    const { kms } = this.ready();
    return SecretBytes.adopt(await walletEntropy({ kms: (n) => kms.generateRandom(n), platform: (n) => this.options.platform.random(n) }, 16));
  }

  async import(req: DecodedRequestOf<'import'>): Promise<ResponseOf<'import'>> {
    const { sealer } = this.ready();
    const userId = required(req.userId, 'userId');
    const walletId = required(req.walletId, 'walletId');
    const recoveryKey = recoveryKeyOf(req.recoveryPublicKey, false);
    const envelope = await this.envelope(req.recoveryEnvelope, { purpose: 'import', sub: userId, ...recoveryBinding(recoveryKey) }, (e) => {
      if (!isValidMnemonic(normaliseMnemonic(e.mnemonic ?? '')))
        throw new EnclaveWalletError('MNEMONIC_INVALID', 'the recovery phrase is not a valid BIP-39 English mnemonic');
      refuseTrivialPin(e.pin);
    });
    try {
      const mnemonic = normaliseMnemonic(envelope.mnemonic ?? '');
      const entropy = mnemonicToEntropy(mnemonic, english);
      try {
        return await this.sealEntropy(sealer, walletId, userId, entropy, envelope.pin, recoveryKey);
      } finally {
        entropy.fill(0);
      }
    } finally {
      disposeEnvelope(envelope);
    }
  }

  async deriveAccount(req: DecodedRequestOf<'deriveAccount'>): Promise<ResponseOf<'deriveAccount'>> {
    const network = this.network(req.network);
    const index = req.index ?? 0;
    const envelope = await this.envelope(req.pinEnvelope, {
      purpose: 'derive-account',
      sub: required(req.userId, 'userId'),
      walletId: required(req.walletId, 'walletId'),
    });
    return this.withWallet(req, envelope, async (wallet, _envelope, seed) => {
      const { privateKey, ...account } = deriveAccount(await seed(), network, index, this.derivations);
      privateKey.fill(0);
      return { account: toProtoAccount(account), sealedBlob: wallet.current };
    });
  }

  async sign(req: DecodedRequestOf<'sign'>): Promise<ResponseOf<'sign'>> {
    const network = this.network(req.network);
    const userId = required(req.userId, 'userId');
    const walletId = required(req.walletId, 'walletId');
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
      { purpose: 'change-pin', sub: required(req.userId, 'userId'), walletId: required(req.walletId, 'walletId') },
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
      sub: required(req.userId, 'userId'),
      walletId: required(req.walletId, 'walletId'),
      digest: hex0x(sha256(recipient)),
    });
    return this.withWallet(req, envelope, async (wallet) => {
      const plaintext = utf8(JSON.stringify({ mnemonic: entropyToMnemonic(wallet.secret, english) }));
      try {
        const encryptedRecoveryPhrase = await sealTo(recipient, RECOVERY_PHRASE_INFO, plaintext);
        return { encryptedRecoveryPhrase, sealedBlob: wallet.current };
      } finally {
        plaintext.fill(0);
      }
    });
  }

  private ready(): { kms: EnclaveKms; sealer: Sealer } {
    if (!this.kms || !this.sealer) throw new EnclaveWalletError('ENCLAVE_NOT_INITIALIZED', 'the enclave has not been initialised');
    return { kms: this.kms, sealer: this.sealer };
  }

  private network(value: v1.Network | null | undefined): Network {
    return networkFromProto(value);
  }

  /**
   * Decrypts an envelope and checks its binding (all but the digest) and
   * expiry; then `beforeClaim` runs (cheap refusals, or the work that yields
   * the digest, which it returns), and only then are the digest and the
   * nonce checked. So nothing costly runs for an envelope that was never
   * meant for this request, and no refusal burns a nonce.
   */
  private async envelope(
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

  private async sealEntropy(
    sealer: Sealer,
    walletId: string,
    userId: string,
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
  private async withWallet<T>(
    req: { userId?: string | null; walletId?: string | null; sealedBlob?: Uint8Array | null },
    envelope: PinEnvelope,
    use: (wallet: OpenedWallet, envelope: PinEnvelope, seed: () => Promise<Uint8Array>) => Promise<T>,
  ): Promise<T> {
    const { sealer } = this.ready();
    const userId = required(req.userId, 'userId');
    const walletId = required(req.walletId, 'walletId');
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
