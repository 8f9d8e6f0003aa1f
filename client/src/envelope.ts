/**
 * The client's side of the PIN envelope (docs/pin-envelope.md): sealing a
 * PIN (and what it is bound to) to the enclave's attested X25519 key, and
 * opening an exported recovery phrase with the client's own key.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, randomBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import { PIN_ENVELOPE_INFO, RECOVERY_PHRASE_INFO } from './proto-copy/labels.js';
import { hpkeOpen, hpkeSeal, wireOf } from './hpke.js';

export { PIN_ENVELOPE_INFO, RECOVERY_PHRASE_INFO };
/** How long an envelope the SDK seals stays valid (the enclave accepts at most 5 minutes). */
export const ENVELOPE_LIFETIME_S = 120;

export type EnvelopePurpose = 'create-wallet' | 'derive-account' | 'sign' | 'change-pin' | 'export' | 'import' | 'recovery-code' | 'reset-pin';
/** What a sign envelope approves: the kind of payload (required with purpose `sign`; the enclave checks it against the request). */
export type SignKind = 'evm-message' | 'evm-typed-data' | 'evm-transaction' | 'solana-message' | 'solana-transaction';

export interface EnvelopeBody {
  purpose: EnvelopePurpose;
  sub: string;
  walletId?: string;
  digest?: string;
  network?: 'evm' | 'solana';
  address?: string;
  kind?: SignKind;
  /**
   * A Solana transaction the SDK checked for a cluster (its recent blockhash valid there on the app's node): the
   * cluster's name. The enclave refuses a sign request that names another cluster (or none); see docs/api.md.
   */
  cluster?: string;
  /** Every purpose but `reset-pin`, which carries the recovery code instead. */
  pin?: string;
  newPin?: string;
  /** `reset-pin`: the recovery code as the user typed it. */
  recoveryCode?: string;
  mnemonic?: string;
}

/** Seals an envelope body to the enclave's key; returns its base64 wire form. A fresh nonce and expiry are added. */
export function sealPinEnvelope(enclaveKey: Uint8Array, body: EnvelopeBody, now: () => number = Date.now): string {
  if (enclaveKey.length !== 32) throw new TypeError('the enclave key is a 32-byte X25519 key');
  const plaintext = new TextEncoder().encode(
    JSON.stringify({ v: 1, ...body, exp: Math.floor(now() / 1000) + ENVELOPE_LIFETIME_S, nonce: bytesToHex(randomBytes(16)) }),
  );
  try {
    return toBase64(wireOf(hpkeSeal(enclaveKey, PIN_ENVELOPE_INFO, plaintext)));
  } finally {
    plaintext.fill(0);
  }
}

/** A fresh X25519 key pair for receiving an exported recovery phrase. */
export function newRecipientKey(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** Opens `encryptedRecoveryPhrase` (base64 enc ‖ ct) with the client's key; returns the mnemonic. */
export function openRecoveryPhrase(secretKey: Uint8Array, encryptedRecoveryPhrase: string): string {
  const plaintext = hpkeOpen(secretKey, fromBase64(encryptedRecoveryPhrase), RECOVERY_PHRASE_INFO);
  try {
    const { mnemonic } = JSON.parse(new TextDecoder().decode(plaintext)) as { mnemonic?: unknown };
    if (typeof mnemonic !== 'string') throw new TypeError('the export does not hold a mnemonic');
    return mnemonic;
  } finally {
    plaintext.fill(0);
  }
}

export const toBase64 = (bytes: Uint8Array): string => base64.encode(bytes);
export const fromBase64 = (text: string): Uint8Array => base64.decode(text);
