/**
 * Sealing and unsealing wallets (SPEC §5). The wallet secret (BIP-39
 * entropy, from which the mnemonic derives, and since blob version 3 the
 * BIP-39 seed next to it, so no signature pays for PBKDF2) is encrypted with
 * XChaCha20-Poly1305 under a key derived from both a KMS data key (released
 * only to an attested enclave) and Argon2id(PIN), so neither a stolen table
 * nor a leaked PIN alone opens a wallet.
 *
 * What the host must not be able to roll back lives in the guard table
 * (guard/guard.ts), which only enclaves write: the consecutive wrong PINs,
 * the lock-out, and the wallet's current version and blob. The enclave
 * always opens the guard's current blob, so an older blob (sealed under an
 * old PIN) or a second blob minted for the same wallet id is never used; a
 * guess is counted in the guard before its answer exists, with a write
 * conditional on the count that was read, so restarted or parallel enclaves
 * share one count. A blob written by the first layout (no guard record yet)
 * is adopted once, carrying its MAC-authenticated counts into the guard.
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';
import { toBase64Url } from '@enclave-wallet/proto/passkey';
import { tally } from '../guard/budget.js';
import { createdRecord, GuardConflict, guessesOf, NO_GUESSES, type Factor, type GuardRecord, type NewGuardRecord, type WalletGuard } from '../guard/guard.js';
import { SecretBytes } from '../secret.js';
import { GuessCounter, lockedError } from './guesses.js';
import { SharedGuesses } from './shared-guesses.js';
import { copyOpen, disposeOpen, openedWallet, sealSlots, type OpenedWallet, type ResealDeps, type SharedOpen } from './opened.js';
import { SLOT_NAMES, SLOT_PIN, SLOT_RECOVERY_CODE, wrapSlot } from './slots.js';
import type { PasskeyOpen } from '../passkey/open.js';
import { phases } from '../phases.js';
import { decodeBlob } from './blob.js';
import { seedFromEntropy } from '../keys/derive.js';
import { ARGON2_POLICY, ARGON2_SALT_BYTES, stretchPin } from './kdf.js';
import { BoundedCache } from '../cache.js';
import { adoptLegacyBlob, stateMacValid } from './adopt.js';
import { encryptionContext, keyRefOf, type DataKeyProvider } from './data-key.js';
import { checkBinding, checkRecord, requireFactor } from './checks.js';
import { guessSecret, settledValue, type UnsealDeps } from './unseal.js';
import { pause } from '../pause.js';

export { encryptionContext, keyRefOf, type DataKeyProvider } from './data-key.js';

export { MAX_PIN_ATTEMPTS, LOCKOUT_BASE_MS, LOCKOUT_MAX_MS, lockoutMs } from '../guard/budget.js';
export type { OpenedWallet } from './opened.js';
/**
 * The guard records an enclave remembers (Sealer.records): the wallets used in the last 10 minutes, at most 4,096 of
 * them. A record is about 2 KB of heap (its blob is about 660 bytes), so a full cache is about 8 MiB; with 10,000 and no
 * lifetime, as until 2026-12-06, every wallet an enclave had served stayed, up to about 24 MiB (docs/performance.md,
 * twenty-third look). A wallet signed with again within its lifetime stays: each use sets its record afresh.
 */
export const GUARD_RECORD_CACHE = Object.freeze({ maxEntries: 4_096, ttlMs: 10 * 60_000 });

/** Reads of a guard record lost to concurrent writes (a PIN change) are retried this often before WALLET_CONFLICT. */
const GUARD_RETRIES = 12;

export interface SealerOptions {
  provider: DataKeyProvider;
  guard: WalletGuard;
  /** The pinned wallet key's ARN, when known: a blob naming another key is refused before anything else (KMS would refuse it too). */
  kmsKeyArn?: string;
  now?: () => number;
  /** How long a right guess's clear may wait to be carried by the next count (guesses.ts CLEAR_DELAY_MS); 0: at once. */
  clearDelayMs?: number;
}

export class Sealer {
  private readonly provider: DataKeyProvider;
  private readonly guard: WalletGuard;
  private readonly now: () => number;
  private readonly kmsKeyArn: string | undefined;
  /**
   * Guard records as this enclave last wrote or read them. Only a hint: every
   * write is conditional on the version and count it assumes, so a stale
   * entry costs one failed write and a fresh read, never a wrong answer; a
   * missing one costs a read before the stretch. Bounded in count and age
   * (GUARD_RECORD_CACHE): each holds its wallet's blob, about 2 KB in all.
   */
  private readonly records: BoundedCache<WalletId, GuardRecord>;
  private readonly counter: GuessCounter;
  private readonly resealDeps: ResealDeps;
  private readonly unsealDeps: UnsealDeps;
  /** Guesses in flight in this enclave, joined by requests with the same wallet and PIN. */
  private readonly shared = new SharedGuesses<SharedOpen>(disposeOpen);

  constructor(options: SealerOptions) {
    this.provider = options.provider;
    this.guard = options.guard;
    this.kmsKeyArn = options.kmsKeyArn;
    this.now = options.now ?? Date.now;
    this.records = new BoundedCache<WalletId, GuardRecord>({ ...GUARD_RECORD_CACHE, now: this.now });
    this.resealDeps = {
      guard: this.guard,
      now: this.now,
      forget: (walletId) => this.records.delete(walletId),
      flushClears: (walletId) => this.counter.flush(walletId),
    };
    this.counter = new GuessCounter({
      guard: this.guard,
      now: this.now,
      remember: (r) => this.remember(r),
      forget: (walletId) => this.records.delete(walletId),
      ...(options.clearDelayMs !== undefined ? { clearDelayMs: options.clearDelayMs } : {}),
    });
    this.unsealDeps = { provider: this.provider, counter: this.counter };
  }

  /** Writes every right guess's clear still waiting to be carried by a count (a graceful stop). */
  flushClears(): Promise<void> {
    return this.counter.flushAll();
  }

  /**
   * Seals the secret of a new (or imported) wallet under a new data key as
   * version 1, and claims the wallet id in the guard.
   *
   * @throws {EnclaveWalletError} WALLET_EXISTS, GUARD_UNAVAILABLE, KMS_*
   */
  async sealNew(
    walletId: WalletId,
    userId: UserId,
    secret: Uint8Array,
    pin: Uint8Array,
    bip39Seed?: Uint8Array,
    recoveryCode?: Uint8Array,
  ): Promise<Uint8Array> {
    const salt = randomBytes(ARGON2_SALT_BYTES);
    const seed = bip39Seed ?? (await seedOf(secret));
    const [dataKey, stretched] = await Promise.allSettled([
      this.provider.generateDataKey(encryptionContext(walletId, userId)),
      stretchPin(pin, salt, ARGON2_POLICY),
    ]);
    const key = settledValue(dataKey);
    const pinKey = settledValue(stretched);
    using walletKey = SecretBytes.adopt(randomBytes(32));
    try {
      if (!key || !pinKey) throw dataKey.status === 'rejected' ? dataKey.reason : (stretched as PromiseRejectedResult).reason;
      const binding = { walletId, ownerUserId: userId, kmsKeyId: key.keyId, kmsCiphertext: key.ciphertextBlob };
      const createdAt = this.now();
      const slots = [wrapSlot(SLOT_PIN, binding, key.plaintext, pinKey, walletKey, { pin: { ...ARGON2_POLICY, salt }, createdAt })];
      if (recoveryCode) slots.push(wrapSlot(SLOT_RECOVERY_CODE, binding, key.plaintext, recoveryCode, walletKey, { createdAt }));
      const blob = sealSlots({ ...binding, dataKey: key.plaintext, walletKey, secret: { entropy: secret, seed }, slots, generation: 1 });
      const record: NewGuardRecord = { walletId, owner: userId, keyRef: keyRefOf(key.ciphertextBlob), version: 1, blob, guesses: NO_GUESSES };
      await this.guard.create(record);
      this.remember(createdRecord(record));
      return blob;
    } finally {
      key?.plaintext.fill(0);
      pinKey?.fill(0);
      if (!bip39Seed) seed.fill(0);
    }
  }

  /**
   * The factors of a wallet, from the guard's current blob: kind, when added, when last used. Nothing secret.
   *
   * @throws {EnclaveWalletError} BLOB_MISMATCH, BLOB_INVALID, GUARD_UNAVAILABLE
   */
  async listFactors(walletId: WalletId, userId: UserId): Promise<Array<{ kind: string; createdAt: number; lastUsedAt: number; credentialId?: string }>> {
    const record = await phases.time('guard_read', () => this.guard.get(walletId));
    if (!record) throw new EnclaveWalletError('BLOB_INVALID', 'this wallet has no guard record');
    if (record.owner !== userId) throw new EnclaveWalletError('BLOB_MISMATCH', 'the sealed blob belongs to another user');
    const blob = decodeBlob(record.blob);
    checkBinding(blob, walletId, userId);
    const slots = blob.slots ?? [];
    if (!slots.length) return [{ kind: 'pin', createdAt: 0, lastUsedAt: record.used.pin ?? 0 }];
    // A factor's last use is noted by kind; a use before this slot was made (the code it replaced) is not its own.
    return slots.map((slot) => {
      const used = record.used[SLOT_NAMES[slot.kind]] ?? 0;
      const credential = slot.passkey ? { credentialId: toBase64Url(slot.passkey.credentialId) } : {};
      return { kind: SLOT_NAMES[slot.kind], createdAt: slot.createdAt, lastUsedAt: used >= slot.createdAt ? used : 0, ...credential };
    });
  }

  /**
   * Opens a wallet with a passkey (docs/passkeys.md): the assertion is checked once the guess is counted in the
   * passkey budget, then the slot of its credential is unwrapped with the PRF output (32 bytes). See open.
   */
  openWithPasskey(blobBytes: Uint8Array, walletId: WalletId, userId: UserId, prf: Uint8Array, passkey: PasskeyOpen): Promise<OpenedWallet> {
    return this.open(blobBytes, walletId, userId, prf, 'passkey', passkey);
  }

  /** Opens a wallet with its recovery code (16 bytes) instead of its PIN: counted in a budget of its own. See open. */
  openWithRecoveryCode(blobBytes: Uint8Array, walletId: WalletId, userId: UserId, code: Uint8Array): Promise<OpenedWallet> {
    return this.open(blobBytes, walletId, userId, code, 'recovery-code');
  }

  /**
   * Opens wallet `walletId` of `userId` with `pin`: the guard's current blob
   * (or, for a wallet from before the guard, the blob given). The guess is
   * counted in the guard before the answer is known, and cleared on success.
   *
   * @throws {EnclaveWalletError} BLOB_INVALID, BLOB_MISMATCH, PIN_LOCKED,
   *   PIN_INVALID, GUARD_UNAVAILABLE, WALLET_CONFLICT, KMS_*
   */
  async open(blobBytes: Uint8Array, walletId: WalletId, userId: UserId, pin: Uint8Array, factor: Factor = 'pin', passkey?: PasskeyOpen): Promise<OpenedWallet> {
    const presented = decodeBlob(blobBytes);
    checkBinding(presented, walletId, userId);
    if (this.kmsKeyArn && presented.kmsKeyId !== this.kmsKeyArn)
      throw new EnclaveWalletError('BLOB_MISMATCH', 'the sealed blob names another KMS key than the one this enclave uses');
    for (let attempt = 0; ; attempt++) {
      if (attempt > GUARD_RETRIES) throw new EnclaveWalletError('WALLET_CONFLICT', 'the wallet changed while the PIN was checked; retry');
      if (attempt > 0) await pause(0, 5 * attempt);
      const cached = this.records.get(walletId);
      const record =
        cached ??
        (await phases.time('guard_read', () => this.guard.get(walletId))) ??
        (await adoptLegacyBlob({ provider: this.provider, guard: this.guard, now: this.now }, presented, blobBytes, walletId, userId));
      if (!record) continue; // lost a race to adopt: read again
      this.remember(record);
      try {
        return await this.openRecord(record, blobBytes, walletId, userId, pin, cached !== undefined, factor, passkey);
      } catch (err) {
        if (err instanceof GuardConflict || (err instanceof EnclaveWalletError && err.code !== 'PIN_INVALID' && err.code !== 'PIN_LOCKED'))
          this.records.delete(walletId);
        if (!(err instanceof GuardConflict)) throw err;
      }
    }
  }

  private async openRecord(
    record: GuardRecord,
    presentedBytes: Uint8Array,
    walletId: WalletId,
    userId: UserId,
    pin: Uint8Array,
    fromCache: boolean,
    factor: Factor,
    passkey: PasskeyOpen | undefined,
  ): Promise<OpenedWallet> {
    const { blob, stale } = checkRecord(record, presentedBytes, walletId, userId);
    const now = this.now();
    requireFactor(blob, factor);
    const state = tally(guessesOf(record, factor), now);
    if (state.next === 'locked') {
      // A lock-out seen only in this enclave's cache is checked against the guard (one read, no stretch) before it is answered.
      if (fromCache) throw new GuardConflict('a cached lock-out is read again');
      throw lockedError(state.lockedUntil, now, factor);
    }
    // A passkey assertion is checked on its own (each is unique); equal PINs or codes in flight share one guess.
    const own =
      factor === 'passkey'
        ? await guessSecret(this.unsealDeps, record, blob, pin, fromCache, factor, passkey)
        : await this.shared.join(
            { walletId, userId, version: record.version, pin, factor },
            () => guessSecret(this.unsealDeps, record, blob, pin, fromCache, factor),
            copyOpen,
          );
    try {
      if (stale && !stateMacValid(stale, own.dataKey)) throw new EnclaveWalletError('BLOB_INVALID', 'the sealed blob was altered');
    } catch (err) {
      disposeOpen(own);
      throw err;
    }
    return openedWallet(this.resealDeps, record, blob, own, stale ? record.blob : undefined);
  }

  private remember(record: GuardRecord): void {
    this.records.set(record.walletId, record);
  }
}

/** The BIP-39 seed of `entropy` (PBKDF2, 2048 rounds): for blobs sealed before version 3, and callers that have none. */
const seedOf = seedFromEntropy;
