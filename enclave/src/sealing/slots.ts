/**
 * Key slots (docs/sealed-blob.md, blob version 4). A wallet's secret is
 * sealed once, under a random 32-byte wallet key; each factor that may open
 * the wallet wraps that key in a slot of its own:
 *
 *   kind       u8      1 = PIN, 2 = recovery code, 3 = passkey
 *   id         bytes8  16 random bytes
 *   createdAt  u64     Unix ms
 *   params     bytes16 PIN: Argon2id memoryKiB u32 | iterations u32 |
 *                      parallelism u8 | salt bytes8; recovery code: empty;
 *                      passkey: passkey/slot-params.ts
 *   nonce      bytes8  24 bytes
 *   wrapped    bytes8  XChaCha20-Poly1305(slot key, nonce, AAD) of the wallet key (32 + 16 bytes)
 *
 * The slot key is HKDF-SHA256(KMS data key ‖ factor key, salt = slot id,
 * info = "enclave-wallet/slot-key/<kind>/v1"): the factor key is
 * Argon2id(PIN, salt) for a PIN and the code's 16 bytes for a recovery code
 * (128 bits cannot be guessed: no stretch). Neither opens a slot without the
 * KMS data key, which KMS releases only to the attested enclave. The AAD
 * binds the slot to its wallet, owner and data key, and to its own kind, id,
 * creation time and parameters; the blob's AEAD binds the whole slot list,
 * so no slot can be added, cut out, moved or edited without the blob failing
 * to open.
 *
 * This module is one slot's layout and wrapping; the guard protocol is in
 * guesses.ts and the orchestration in seal.ts. A passkey slot is one more kind: its factor key is the PRF output
 * of its credential (256 bits: no stretch).
 */
import { openXChaCha20Poly1305, sealXChaCha20Poly1305 } from '../aead.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { SecretBytes } from '../secret.js';
import type { Argon2Cost } from './kdf.js';
import { decodePasskeyParams, encodePasskeyParams, type PasskeyParams } from '../passkey/slot-params.js';

export const SLOT_PIN = 1;
export const SLOT_RECOVERY_CODE = 2;
export const SLOT_PASSKEY = 3;
export type SlotKind = typeof SLOT_PIN | typeof SLOT_RECOVERY_CODE | typeof SLOT_PASSKEY;
export const SLOT_NAMES: Record<SlotKind, 'pin' | 'recovery-code' | 'passkey'> = {
  [SLOT_PIN]: 'pin',
  [SLOT_RECOVERY_CODE]: 'recovery-code',
  [SLOT_PASSKEY]: 'passkey',
};

/** A PIN slot's Argon2id cost and salt. */
export interface PinParams extends Argon2Cost {
  salt: Uint8Array;
}

export interface Slot {
  kind: SlotKind;
  id: Uint8Array;
  createdAt: number;
  /** The PIN's Argon2id parameters (PIN slots); undefined for other kinds. */
  pin: PinParams | undefined;
  /** A passkey's credential, key, RP id and origins (passkey slots, passkey/slot-params.ts). */
  passkey?: PasskeyParams | undefined;
  nonce: Uint8Array;
  wrapped: Uint8Array;
}

/** What a slot is bound to besides itself: the wallet, its owner and its data key. */
export interface SlotBinding {
  walletId: string;
  ownerUserId: string;
  kmsKeyId: string;
  kmsCiphertext: Uint8Array;
}

const te = new TextEncoder();
const SLOT_AAD_LABEL = te.encode('enclave-wallet/slot/v1');
const slotKeyInfo = (kind: SlotKind): Uint8Array => te.encode(`enclave-wallet/slot-key/${SLOT_NAMES[kind]}/v1`);

/** Big-endian bytes of a slot's fields, for its AAD and the blob's (the same writer rules as blob.ts). */
export function encodeSlotParams(slot: Pick<Slot, 'kind' | 'pin' | 'passkey'>): Uint8Array {
  if (slot.kind === SLOT_PASSKEY) return encodePasskeyParams(slot.passkey!);
  if (slot.kind !== SLOT_PIN) return new Uint8Array(0);
  const p = slot.pin!;
  const out = new Uint8Array(4 + 4 + 1 + 1 + p.salt.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, p.memoryKiB);
  view.setUint32(4, p.iterations);
  out[8] = p.parallelism;
  out[9] = p.salt.length;
  out.set(p.salt, 10);
  return out;
}

export function decodeSlotParams(kind: number, params: Uint8Array): { pin?: PinParams; passkey?: PasskeyParams } {
  if (kind === SLOT_RECOVERY_CODE) {
    if (params.length !== 0) throw bad('a recovery-code slot has no parameters');
    return {};
  }
  if (kind === SLOT_PASSKEY) return { passkey: decodePasskeyParams(params) };
  if (kind !== SLOT_PIN) throw bad(`unknown slot kind ${kind}`);
  if (params.length < 10) throw bad('PIN slot parameters are truncated');
  const view = new DataView(params.buffer, params.byteOffset, params.byteLength);
  const saltLength = params[9]!;
  if (params.length !== 10 + saltLength) throw bad('PIN slot parameters have the wrong length');
  return { pin: { memoryKiB: view.getUint32(0), iterations: view.getUint32(4), parallelism: params[8]!, salt: params.slice(10) } };
}

const bad = (why: string): EnclaveWalletError => new EnclaveWalletError('BLOB_INVALID', `the sealed blob is not readable: ${why}`);

function str16(s: string): Uint8Array {
  const b = te.encode(s);
  const out = new Uint8Array(2 + b.length);
  new DataView(out.buffer).setUint16(0, b.length);
  out.set(b, 2);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The slot's AAD: its label, its wallet, owner and data key, and its own fields. */
function slotAad(binding: SlotBinding, slot: Pick<Slot, 'kind' | 'id' | 'createdAt' | 'pin' | 'passkey'>): Uint8Array {
  const created = new Uint8Array(8);
  new DataView(created.buffer).setBigUint64(0, BigInt(slot.createdAt));
  const ct = new Uint8Array(2);
  new DataView(ct.buffer).setUint16(0, binding.kmsCiphertext.length);
  const params = encodeSlotParams(slot);
  const paramsLength = new Uint8Array(2);
  new DataView(paramsLength.buffer).setUint16(0, params.length);
  return concat(
    SLOT_AAD_LABEL,
    str16(binding.walletId),
    str16(binding.ownerUserId),
    str16(binding.kmsKeyId),
    ct,
    binding.kmsCiphertext,
    Uint8Array.of(slot.kind, slot.id.length),
    slot.id,
    created,
    paramsLength,
    params,
  );
}

/** The key that wraps the wallet key in a slot: HKDF over the data key and the factor's key. */
function slotKey(kind: SlotKind, id: Uint8Array, dataKey: Uint8Array, factorKey: Uint8Array): SecretBytes {
  using ikm = SecretBytes.alloc(dataKey.length + factorKey.length);
  ikm.set(dataKey, 0);
  ikm.set(factorKey, dataKey.length);
  return SecretBytes.adopt(hkdf(sha256, ikm, id, slotKeyInfo(kind), 32));
}

/** A new slot of `kind` wrapping `walletKey` under the data key and `factorKey` (Argon2id(PIN) or the code's bytes). */
export function wrapSlot(
  kind: SlotKind,
  binding: SlotBinding,
  dataKey: Uint8Array,
  factorKey: Uint8Array,
  walletKey: Uint8Array,
  options: { pin?: PinParams; passkey?: PasskeyParams; createdAt: number },
): Slot {
  const head = {
    kind,
    id: randomBytes(16),
    createdAt: options.createdAt,
    pin: kind === SLOT_PIN ? options.pin : undefined,
    ...(kind === SLOT_PASSKEY ? { passkey: options.passkey } : {}),
  };
  if (kind === SLOT_PIN && !head.pin) throw new RangeError('a PIN slot needs its Argon2id parameters');
  if (kind === SLOT_PASSKEY && !head.passkey) throw new RangeError('a passkey slot needs its credential');
  const nonce = randomBytes(24);
  using key = slotKey(kind, head.id, dataKey, factorKey);
  const wrapped = sealXChaCha20Poly1305(key, nonce, slotAad(binding, head), walletKey);
  return { ...head, nonce, wrapped };
}

/** The wallet key in `slot`, or undefined when `factorKey` is not the slot's factor (a wrong PIN or code). */
export function unwrapSlot(slot: Slot, binding: SlotBinding, dataKey: Uint8Array, factorKey: Uint8Array): SecretBytes | undefined {
  using key = slotKey(slot.kind, slot.id, dataKey, factorKey);
  try {
    return openXChaCha20Poly1305(key, slot.nonce, slotAad(binding, slot), slot.wrapped);
  } catch {
    return undefined;
  }
}
