/**
 * Sealing and unsealing wallets (SPEC §5). The wallet secret (BIP-39
 * entropy, from which mnemonic and seed derive) is encrypted with
 * XChaCha20-Poly1305 under a key derived from both a KMS data key (released
 * only to an attested enclave) and Argon2id(PIN), so neither a stolen table
 * nor a leaked PIN alone opens a wallet. Failed attempts are kept in the blob
 * (under a MAC keyed by the data key, so the host cannot reset them) and in
 * enclave memory as a per-wallet high-water mark (so replaying an older blob
 * gives no fresh attempts while the enclave runs).
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import {
  AEAD_XCHACHA20_POLY1305,
  associatedData,
  BLOB_VERSION,
  decodeBlob,
  encodeBlob,
  encodeSealedPart,
  stateMacInput,
  type AttemptState,
  type SealedBlob,
} from './blob.js';
import { ARGON2_POLICY, ARGON2_SALT_BYTES, seedKey, stateKey, stretchPin, withinBounds } from './kdf.js';

/** Consecutive wrong PINs before a wallet locks. */
export const MAX_PIN_ATTEMPTS = 5;
/** First lock-out; doubles with each further failure. */
export const LOCKOUT_BASE_MS = 60_000;
export const LOCKOUT_MAX_MS = 24 * 3600_000;

/** Lock-out after `failures` consecutive wrong PINs (0 below the limit). */
export function lockoutMs(failures: number): number {
  if (failures < MAX_PIN_ATTEMPTS) return 0;
  return Math.min(LOCKOUT_BASE_MS * 2 ** (failures - MAX_PIN_ATTEMPTS), LOCKOUT_MAX_MS);
}

/** Encryption context binding a data key to its wallet and owner (KMS enforces it on Decrypt). */
export function encryptionContext(walletId: string, userId: string): Record<string, string> {
  return { 'enclave-wallet:wallet-id': walletId, 'enclave-wallet:user-id': userId };
}

/** Where data keys come from: KMS with attestation (see kms/). */
export interface DataKeyProvider {
  generateDataKey(context: Record<string, string>): Promise<{ plaintext: Uint8Array; ciphertextBlob: Uint8Array; keyId: string }>;
  decryptDataKey(ciphertextBlob: Uint8Array, context: Record<string, string>, keyId: string): Promise<Uint8Array>;
}

/** Per-wallet high-water marks of failed attempts, in enclave memory. Bounded. */
export class AttemptTracker {
  private readonly marks = new Map<string, AttemptState>();
  constructor(private readonly maxWallets = 100_000) {}

  get(walletId: string): AttemptState | undefined {
    return this.marks.get(walletId);
  }

  raise(walletId: string, state: AttemptState): void {
    const old = this.marks.get(walletId);
    this.marks.delete(walletId);
    this.marks.set(walletId, {
      failedAttempts: Math.max(state.failedAttempts, old?.failedAttempts ?? 0),
      lockedUntilMs: Math.max(state.lockedUntilMs, old?.lockedUntilMs ?? 0),
    });
    if (this.marks.size > this.maxWallets) this.marks.delete(this.marks.keys().next().value!);
  }

  reset(walletId: string): void {
    this.marks.delete(walletId);
  }
}

/** An opened wallet. Call `dispose()` when done: it zeroes the secrets. */
export interface OpenedWallet {
  walletId: string;
  userId: string;
  /** The sealed wallet secret: the BIP-39 entropy. */
  secret: Uint8Array;
  dispose(): void;
  /** Re-seals with fresh salt and nonce under `pin` (the same or a new one), attempts reset. */
  reseal(pin: Uint8Array): Promise<Uint8Array>;
}

export interface SealerOptions {
  provider: DataKeyProvider;
  attempts?: AttemptTracker;
  now?: () => number;
}

export class Sealer {
  private readonly provider: DataKeyProvider;
  readonly attempts: AttemptTracker;
  private readonly now: () => number;

  constructor(options: SealerOptions) {
    this.provider = options.provider;
    this.attempts = options.attempts ?? new AttemptTracker();
    this.now = options.now ?? Date.now;
  }

  /** Seals the secret of a new (or imported) wallet under a new data key. */
  async sealNew(walletId: string, userId: string, secret: Uint8Array, pin: Uint8Array): Promise<Uint8Array> {
    const dataKey = await this.provider.generateDataKey(encryptionContext(walletId, userId));
    try {
      return await this.sealWith(walletId, userId, dataKey.keyId, dataKey.ciphertextBlob, dataKey.plaintext, secret, pin);
    } finally {
      dataKey.plaintext.fill(0);
    }
  }

  /**
   * Opens a blob for `walletId` owned by `userId` with `pin`.
   *
   * @throws {EnclaveWalletError} BLOB_INVALID, BLOB_MISMATCH, PIN_LOCKED,
   *   PIN_INVALID (with the re-sealed blob recording the failure), KMS_*
   */
  async open(blobBytes: Uint8Array, walletId: string, userId: string, pin: Uint8Array): Promise<OpenedWallet> {
    const blob = decodeBlob(blobBytes);
    if (blob.walletId !== walletId) throw new EnclaveWalletError('BLOB_MISMATCH', 'the sealed blob belongs to another wallet', { expected: walletId, actual: blob.walletId });
    if (blob.ownerUserId !== userId) throw new EnclaveWalletError('BLOB_MISMATCH', 'the sealed blob belongs to another user');
    if (!withinBounds(blob.argon2)) throw new EnclaveWalletError('BLOB_INVALID', 'the sealed blob’s PIN-stretching cost is outside this image’s bounds');

    const dataKey = await this.provider.decryptDataKey(blob.kmsCiphertext, encryptionContext(walletId, userId), blob.kmsKeyId);
    let handedOver = false;
    try {
      const macKey = stateKey(dataKey);
      const expectedMac = hmac(sha256, macKey, stateMacInput(blob.sealedPart, blob.state));
      if (!constantTimeEqual(expectedMac, blob.stateMac)) {
        macKey.fill(0);
        throw new EnclaveWalletError('BLOB_INVALID', 'the sealed blob’s attempt state was altered');
      }
      const mark = this.attempts.get(walletId);
      const state: AttemptState = {
        failedAttempts: Math.max(blob.state.failedAttempts, mark?.failedAttempts ?? 0),
        lockedUntilMs: Math.max(blob.state.lockedUntilMs, mark?.lockedUntilMs ?? 0),
      };
      const now = this.now();
      if (now < state.lockedUntilMs) {
        macKey.fill(0);
        throw new EnclaveWalletError('PIN_LOCKED', 'too many wrong PINs; the wallet is locked', { retryAfter: Math.ceil((state.lockedUntilMs - now) / 1000) });
      }

      const stretched = await stretchPin(pin, blob.argon2.salt, blob.argon2);
      const key = seedKey(dataKey, stretched, blob.argon2.salt);
      stretched.fill(0);
      let secret: Uint8Array;
      try {
        secret = xchacha20poly1305(key, blob.nonce, associatedData(blob, blob.ciphertext.length)).decrypt(blob.ciphertext);
      } catch {
        const failures = state.failedAttempts + 1;
        const next: AttemptState = { failedAttempts: failures, lockedUntilMs: failures >= MAX_PIN_ATTEMPTS ? now + lockoutMs(failures) : 0 };
        this.attempts.raise(walletId, next);
        const updated = encodeBlob({ ...blob, state: next, stateMac: hmac(sha256, macKey, stateMacInput(blob.sealedPart, next)) });
        macKey.fill(0);
        if (next.lockedUntilMs > 0) {
          throw new EnclaveWalletError('PIN_LOCKED', 'too many wrong PINs; the wallet is locked', { retryAfter: Math.ceil(lockoutMs(failures) / 1000) }, updated);
        }
        throw new EnclaveWalletError('PIN_INVALID', 'wrong PIN', { attemptsLeft: MAX_PIN_ATTEMPTS - failures }, updated);
      } finally {
        key.fill(0);
      }
      macKey.fill(0);
      this.attempts.reset(walletId);
      handedOver = true;
      const kmsKeyId = blob.kmsKeyId;
      const kmsCiphertext = blob.kmsCiphertext;
      let disposed = false;
      return {
        walletId,
        userId,
        secret,
        dispose: () => {
          disposed = true;
          secret.fill(0);
          dataKey.fill(0);
        },
        reseal: (newPin) => {
          if (disposed) throw new Error('reseal after dispose');
          return this.sealWith(walletId, userId, kmsKeyId, kmsCiphertext, dataKey, secret, newPin);
        },
      };
    } finally {
      if (!handedOver) dataKey.fill(0);
    }
  }

  private async sealWith(walletId: string, userId: string, kmsKeyId: string, kmsCiphertext: Uint8Array, dataKey: Uint8Array, secret: Uint8Array, pin: Uint8Array): Promise<Uint8Array> {
    const salt = randomBytes(ARGON2_SALT_BYTES);
    const nonce = randomBytes(24);
    const header = {
      version: BLOB_VERSION,
      walletId,
      ownerUserId: userId,
      kmsKeyId,
      kmsCiphertext,
      argon2: { ...ARGON2_POLICY, salt },
      aeadId: AEAD_XCHACHA20_POLY1305,
      nonce,
    };
    const stretched = await stretchPin(pin, salt, ARGON2_POLICY);
    const key = seedKey(dataKey, stretched, salt);
    stretched.fill(0);
    let ciphertext: Uint8Array;
    try {
      // Secret + tag (16).
      ciphertext = xchacha20poly1305(key, nonce, associatedData(header, secret.length + 16)).encrypt(secret);
    } finally {
      key.fill(0);
    }
    const state: AttemptState = { failedAttempts: 0, lockedUntilMs: 0 };
    const sealedPart = encodeSealedPart({ ...header, ciphertext });
    const macKey = stateKey(dataKey);
    const blob: SealedBlob = { ...header, ciphertext, state, stateMac: hmac(sha256, macKey, stateMacInput(sealedPart, state)) };
    macKey.fill(0);
    return encodeBlob(blob);
  }
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
