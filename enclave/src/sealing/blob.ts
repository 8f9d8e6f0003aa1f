/**
 * The sealed wallet blob's binary layout (docs/sealed-blob.md). Big-endian.
 *
 *   "EWSB" | version u8 (3; 2 and 1 are still read)
 *   generation      u32     (versions 2 and 3: the wallet's version in the guard;
 *                            1 at creation, +1 per PIN change; 0 for a v1 blob)
 *   walletId        str16   (u16 length + UTF-8)
 *   ownerUserId     str16
 *   kmsKeyId        str16
 *   kmsCiphertext   bytes16 (u16 length + bytes): the KMS CiphertextBlob of the data key
 *   argon2 memoryKiB u32 | iterations u32 | parallelism u8 | salt bytes8
 *   aead id u8 (1 = XChaCha20-Poly1305) | nonce bytes8 (24)
 *   ciphertext      bytes32 (u32 length + bytes): the wallet secret, with its tag:
 *                   version 3: BIP-39 entropy ‖ BIP-39 seed (64 bytes);
 *                   versions 1 and 2: the entropy alone (see walletSecret)
 *   --- attempt state (authenticated by its own MAC, see seal.ts) ---
 *   failedAttempts u32 | lockedUntilMs u64 | stateMac bytes8 (32)
 *   (version 2 writes zeros here: attempts live in the guard table; the
 *   counts of a version-1 blob are carried into the guard when it is adopted)
 *
 * Version 4 (key slots, see slots.ts) replaces the argon2 fields with the
 * slot list, and seals the secret (entropy ‖ seed, as version 3) under a
 * random wallet key that each slot wraps for one factor:
 *
 *   "EWSB" | 4 | generation u32 | walletId | ownerUserId | kmsKeyId | kmsCiphertext
 *   slots           u8 count, then each: kind u8 | id bytes8 | createdAt u64 |
 *                   params bytes16 | nonce bytes8 | wrapped bytes8
 *   aead id u8 | nonce bytes8 | ciphertext bytes32 | attempt state (zeros) and its MAC
 *
 * Everything up to and including `ciphertext`'s length prefix is the AEAD's
 * associated data, so no non-secret field (nor, from version 4, any slot)
 * can be changed without the blob failing to open.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { equalBytes, toHex } from '@enclave-wallet/proto/bytes';
import { SecretBytes } from '../secret.js';
import { decodeSlotParams, encodeSlotParams, SLOT_PIN, SLOT_RECOVERY_CODE, type Slot, type SlotKind } from './slots.js';
import { Reader, Writer } from './codec.js';

/** Most passkey slots a blob holds. */
export const MAX_PASSKEYS = 8;
/** Most slots a blob holds (a PIN, a recovery code, passkeys). */
export const MAX_SLOTS = 16;

export const BLOB_MAGIC = 'EWSB';
export const BLOB_VERSION = 4;
/** The first layout (no generation); still read. */
export const BLOB_VERSION_1 = 1;
/** Bytes of the BIP-39 seed sealed after the entropy from version 3 on. */
export const SEED_BYTES = 64;
/** BIP-39 entropy lengths (12 to 24 words). */
const ENTROPY_LENGTHS = new Set([16, 20, 24, 28, 32]);

/** A wallet's secret as sealed: the BIP-39 entropy, and (version 3) the seed derived from it. */
export interface WalletSecret {
  entropy: Uint8Array;
  /** The BIP-39 seed (empty passphrase); absent in blobs before version 3. */
  seed: Uint8Array | undefined;
}

/** The plaintext a blob of `version` seals, in memory of its own (the caller disposes it). */
export function encodeWalletSecret(version: number, secret: WalletSecret): SecretBytes {
  if (!ENTROPY_LENGTHS.has(secret.entropy.length)) throw new RangeError('entropy must be 16 to 32 bytes, in steps of 4');
  if (version < 3) return SecretBytes.copyOf(secret.entropy);
  if (secret.seed?.length !== SEED_BYTES) throw new RangeError('a version-3 or -4 blob seals the 64-byte seed');
  const out = SecretBytes.alloc(secret.entropy.length + SEED_BYTES);
  out.set(secret.entropy);
  out.set(secret.seed, secret.entropy.length);
  return out;
}

/** Splits an opened blob's plaintext (copies; the caller zeroes `plaintext`). @throws BLOB_INVALID */
export function decodeWalletSecret(version: number, plaintext: Uint8Array): WalletSecret {
  const entropyLength = version >= 3 ? plaintext.length - SEED_BYTES : plaintext.length;
  if (!ENTROPY_LENGTHS.has(entropyLength)) throw bad('the sealed secret has the wrong length');
  return {
    entropy: SecretBytes.copyOf(plaintext.subarray(0, entropyLength)),
    seed: version >= 3 ? SecretBytes.copyOf(plaintext.subarray(entropyLength)) : undefined,
  };
}
export const AEAD_XCHACHA20_POLY1305 = 1;
/** Largest blob accepted (a few hundred bytes in practice). */
export const MAX_BLOB_BYTES = 16 * 1024;

export interface Argon2Params {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  salt: Uint8Array;
}

export interface AttemptState {
  /** Consecutive wrong PINs. */
  failedAttempts: number;
  /** Unix ms until which no PIN is tried; 0 when not locked. */
  lockedUntilMs: number;
}

export interface SealedBlob {
  version: number;
  /** The wallet's version in the guard (0 for a version-1 blob). */
  generation: number;
  walletId: string;
  ownerUserId: string;
  kmsKeyId: string;
  kmsCiphertext: Uint8Array;
  /** Versions 1 to 3: the PIN's Argon2id parameters. Version 4: the PIN slot's (the first PIN slot), for reading. */
  argon2: Argon2Params;
  /** Version 4: the key slots, in order. */
  slots?: Slot[];
  aeadId: number;
  nonce: Uint8Array;
  ciphertext: Uint8Array;
  state: AttemptState;
  stateMac: Uint8Array;
}

const bad = (why: string): EnclaveWalletError => new EnclaveWalletError('BLOB_INVALID', `the sealed blob is not readable: ${why}`);

const MAGIC_BYTES = new TextEncoder().encode(BLOB_MAGIC);

function writeHeader(w: Writer, blob: Omit<SealedBlob, 'state' | 'stateMac' | 'ciphertext'>): void {
  w.raw(MAGIC_BYTES).u8(blob.version);
  if (blob.version >= 2) w.u32(blob.generation);
  w.str16(blob.walletId).str16(blob.ownerUserId).str16(blob.kmsKeyId).bytes16(blob.kmsCiphertext);
  if (blob.version >= 4) {
    const slots = blob.slots ?? [];
    w.u8(slots.length);
    for (const slot of slots) w.u8(slot.kind).bytes8(slot.id).u64(slot.createdAt).bytes16(encodeSlotParams(slot)).bytes8(slot.nonce).bytes8(slot.wrapped);
  } else w.u32(blob.argon2.memoryKiB).u32(blob.argon2.iterations).u8(blob.argon2.parallelism).bytes8(blob.argon2.salt);
  w.u8(blob.aeadId).bytes8(blob.nonce);
}

/** The AEAD associated data: the header and the ciphertext's length. */
export function associatedData(blob: Omit<SealedBlob, 'state' | 'stateMac' | 'ciphertext'>, ciphertextLength: number): Uint8Array {
  const w = new Writer();
  writeHeader(w, blob);
  return w.u32(ciphertextLength).done();
}

/** The bytes the attempt-state MAC covers: the whole sealed part and the state. */
export function stateMacInput(sealedPart: Uint8Array, state: AttemptState): Uint8Array {
  return new Writer().raw(sealedPart).u32(state.failedAttempts).u64(state.lockedUntilMs).done();
}

/** The sealed part (header, ciphertext) of a blob. */
export function encodeSealedPart(blob: Omit<SealedBlob, 'state' | 'stateMac'>): Uint8Array {
  const w = new Writer();
  writeHeader(w, blob);
  return w.u32(blob.ciphertext.length).raw(blob.ciphertext).done();
}

export function encodeBlob(blob: SealedBlob): Uint8Array {
  const sealed = encodeSealedPart(blob);
  return new Writer().raw(sealed).u32(blob.state.failedAttempts).u64(blob.state.lockedUntilMs).bytes8(blob.stateMac).done();
}

/**
 * Parses a blob.
 *
 * @throws {EnclaveWalletError} BLOB_INVALID
 */
export function decodeBlob(bytes: Uint8Array): SealedBlob & { sealedPart: Uint8Array } {
  if (bytes.length > MAX_BLOB_BYTES) throw bad('too large');
  const r = new Reader(bytes);
  if (!equalBytes(r.raw(4), MAGIC_BYTES)) throw bad('not a sealed wallet blob');
  const version = r.u8();
  if (version < BLOB_VERSION_1 || version > BLOB_VERSION) throw bad(`unknown version ${version}`);
  const generation = version >= 2 ? r.u32() : 0;
  if (version >= 2 && generation < 1) throw bad('generation must be at least 1');
  const walletId = r.str16();
  const ownerUserId = r.str16();
  const kmsKeyId = r.str16();
  const kmsCiphertext = r.bytes16();
  let argon2: Argon2Params;
  let slots: Slot[] | undefined;
  if (version >= 4) {
    slots = readSlots(r);
    argon2 = slots.find((s) => s.kind === SLOT_PIN)!.pin!;
  } else argon2 = { memoryKiB: r.u32(), iterations: r.u32(), parallelism: r.u8(), salt: r.bytes8() };
  const aeadId = r.u8();
  if (aeadId !== AEAD_XCHACHA20_POLY1305) throw bad(`unknown AEAD ${aeadId}`);
  const nonce = r.bytes8();
  if (nonce.length !== 24) throw bad('nonce must be 24 bytes');
  const ciphertext = r.bytes32();
  const sealedPart = bytes.slice(0, r.offset);
  const state = { failedAttempts: r.u32(), lockedUntilMs: r.u64() };
  const stateMac = r.bytes8();
  if (stateMac.length !== 32) throw bad('state MAC must be 32 bytes');
  if (r.remaining !== 0) throw bad('trailing bytes');
  return {
    version,
    generation,
    walletId,
    ownerUserId,
    kmsKeyId,
    kmsCiphertext,
    argon2,
    slots, // present (undefined before version 4): a decoded blob has one shape whatever its version (V8's map)
    aeadId,
    nonce,
    ciphertext,
    state,
    stateMac,
    sealedPart,
  };
}

/** Version 4's slot list: 1 to MAX_SLOTS slots, exactly one PIN slot, at most one recovery-code slot, passkeys of distinct credentials. */
function readSlots(r: Reader): Slot[] {
  const slots: Slot[] = [];
  const count = r.u8();
  if (count < 1 || count > MAX_SLOTS) throw bad(`a blob has 1 to ${MAX_SLOTS} slots`);
  for (let i = 0; i < count; i++) {
    const kind = r.u8();
    const id = r.bytes8();
    const createdAt = r.u64();
    const { pin, passkey } = decodeSlotParams(kind, r.bytes16());
    const nonce = r.bytes8();
    const wrapped = r.bytes8();
    if (id.length !== 16 || nonce.length !== 24 || wrapped.length !== 48) throw bad('a slot has the wrong sizes');
    slots.push({ kind: kind as SlotKind, id, createdAt, pin, passkey, nonce, wrapped }); // passkey: undefined in other slots
  }
  // One pass (this runs at every signature): the PIN slots, the recovery-code slots, the passkeys' credentials.
  let pins = 0;
  let codes = 0;
  const credentials = new Set<string>();
  let passkeys = 0;
  for (const s of slots) {
    if (s.kind === SLOT_PIN) pins++;
    else if (s.kind === SLOT_RECOVERY_CODE) codes++;
    if (s.passkey) {
      passkeys++;
      credentials.add(toHex(s.passkey.credentialId));
    }
  }
  if (pins !== 1) throw bad('a blob has exactly one PIN slot');
  if (codes > 1) throw bad('a blob has at most one recovery-code slot');
  if (passkeys > MAX_PASSKEYS || credentials.size !== passkeys) throw bad(`a blob has at most ${MAX_PASSKEYS} passkey slots, each of its own credential`);
  return slots;
}
