/**
 * The client's side of the PIN envelope (docs/pin-envelope.md): sealing a
 * PIN (and what it is bound to) to the enclave's attested X25519 key, and
 * opening an exported recovery phrase with the client's own key.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { base64 } from '@scure/base';
import { equalBytes, toHex } from './proto-copy/bytes.js';
import { PIN_ENVELOPE_INFO, RECOVERY_PHRASE_INFO } from './proto-copy/labels.js';
import { discardContext, hpkeOpen, hpkeSeal, hpkeSenderAsync, sealOnce, wireOf, type SenderContext } from './hpke.js';

export { PIN_ENVELOPE_INFO, RECOVERY_PHRASE_INFO };
/** How long an envelope the SDK seals stays valid (the enclave accepts at most 5 minutes). */
export const ENVELOPE_LIFETIME_S = 120;

export type EnvelopePurpose =
  'create-wallet' | 'derive-account' | 'sign' | 'change-pin' | 'export' | 'import' | 'recovery-code' | 'reset-pin' | 'add-passkey' | 'remove-passkey';
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
  /** Every purpose but `reset-pin`, which carries the recovery code instead; or a passkey assertion (docs/passkeys.md). */
  pin?: string;
  newPin?: string;
  /** `reset-pin`: the recovery code as the user typed it. */
  recoveryCode?: string;
  mnemonic?: string;
  /**
   * A passkey's assertion over this envelope's binding (docs/passkeys.md), base64url; with `add-passkey` the new
   * credential's `algorithm` and `publicKey` too. Its PRF output is sealed beside it (sealEnvelope's `prf`).
   */
  passkey?: {
    credentialId: string;
    authenticatorData: string;
    clientDataJSON: string;
    signature: string;
    algorithm?: number;
    publicKey?: string;
  };
}

/** The expiry (Unix s) and one-time nonce (16 bytes, hex) of one envelope. */
export interface EnvelopeStamp {
  exp: number;
  nonce: string;
}

/** A fresh expiry and nonce. A passkey's challenge covers them, so they are chosen before the passkey is asked. */
export function envelopeStamp(now: () => number = Date.now): EnvelopeStamp {
  return { exp: Math.floor(now() / 1000) + ENVELOPE_LIFETIME_S, nonce: toHex(randomBytes(16)) };
}

/** Seals an envelope body to the enclave's key; returns its base64 wire form. A fresh nonce and expiry are added. */
export function sealPinEnvelope(enclaveKey: Uint8Array, body: EnvelopeBody, now: () => number = Date.now): string {
  return sealEnvelope(enclaveKey, { ...body, ...envelopeStamp(now) });
}

const B64URL = new TextEncoder().encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

/**
 * Seals an envelope body with its expiry and nonce; returns its base64 wire form. A passkey's 32-byte PRF output
 * goes in as the top-level `prf` (base64url), written straight into the plaintext bytes, never a string; the
 * plaintext is zeroed once sealed.
 */
export function sealEnvelope(enclaveKey: Uint8Array, body: EnvelopeBody & EnvelopeStamp, prf?: Uint8Array): string {
  const plaintext = envelopePlaintext(enclaveKey, body, prf);
  try {
    return toBase64(wireOf(hpkeSeal(enclaveKey, PIN_ENVELOPE_INFO, plaintext)));
  } finally {
    plaintext.fill(0);
  }
}

/**
 * How long after an envelope is sealed the next one's HPKE context is made, and how long a context made ahead is
 * kept unused before it is zeroed. The key agreement is most of a seal's cost (about 0.6 of 0.9 ms on Node 20 after
 * 20 ms idle, against 0.25 for the rest: docs/performance.md, twenty-third look); made while the caller waits for
 * the enclave, it is off the next call's path. The delay leaves the request's own sending and the host's first work
 * (on the same cores, for a local stack) ahead of it. The age bounds how long the next envelope's key waits in
 * memory (docs/threat-model.md, "Secrets in memory"): long enough for signatures one after another, not for a
 * wallet used now and then, whose contexts would mostly be thrown away.
 */
export const CONTEXT_AHEAD_DELAY_MS = 5;
export const CONTEXT_AHEAD_MAX_AGE_MS = 10_000;

/** At most one sender context made ahead (or about to be), for the last enclave key sealed to; taken by one seal only. */
let ahead: { pkR: Uint8Array; context: Promise<SenderContext | undefined>; deadline: number; expiry: ReturnType<typeof setTimeout> } | undefined;
let coming: { pkR: Uint8Array; timer: ReturnType<typeof setTimeout> } | undefined;
/** Moved on by dropContextAhead (logout): a seal that began before it makes nothing ahead. */
let generation = 0;

const unref = (t: ReturnType<typeof setTimeout>): void => (t as { unref?: () => void }).unref?.();

/** Drops the context made ahead, if any (zeroed once made), and the one about to be made; seals in flight make none. */
export function dropContextAhead(): void {
  generation++;
  dropComing();
  dropAhead();
}

function dropComing(): void {
  if (coming) clearTimeout(coming.timer);
  coming = undefined;
}

/** Drops the context made ahead (zeroing it once made). */
function dropAhead(): void {
  const dropped = ahead;
  ahead = undefined;
  if (!dropped) return;
  clearTimeout(dropped.expiry);
  void dropped.context.then((c) => c && discardContext(c));
}

/** Makes the next envelope's context for `pkR` a moment from now, in place of any for another key. */
function prepareAhead(pkR: Uint8Array): void {
  if ((ahead && equalBytes(ahead.pkR, pkR)) || (coming && equalBytes(coming.pkR, pkR))) return;
  dropComing();
  dropAhead();
  const key = Uint8Array.from(pkR);
  const timer = setTimeout(() => {
    coming = undefined;
    const expiry = setTimeout(dropAhead, CONTEXT_AHEAD_MAX_AGE_MS);
    unref(expiry);
    // A failure here is not the next seal's: it makes its own.
    const context = hpkeSenderAsync(key, PIN_ENVELOPE_INFO).catch(() => undefined);
    ahead = { pkR: key, context, deadline: Date.now() + CONTEXT_AHEAD_MAX_AGE_MS, expiry };
  }, CONTEXT_AHEAD_DELAY_MS);
  unref(timer);
  coming = { pkR: key, timer };
}

/**
 * A context for one envelope to `pkR`: the one made ahead if it is for that key and within its age (the clock is
 * read too: timers stand still while a machine sleeps), else a new one; then the next is made ahead, unless
 * dropContextAhead ran meanwhile.
 */
async function contextFor(pkR: Uint8Array): Promise<SenderContext> {
  const began = generation;
  const mine = ahead;
  let context: SenderContext | undefined;
  if (mine && equalBytes(mine.pkR, pkR) && Date.now() < mine.deadline) {
    ahead = undefined;
    clearTimeout(mine.expiry);
    context = await mine.context;
  } else dropAhead();
  context ??= await hpkeSenderAsync(pkR, PIN_ENVELOPE_INFO);
  if (generation === began) prepareAhead(pkR);
  return context;
}

/**
 * sealEnvelope, with the X25519 of the platform's WebCrypto where it has one (hpkeSenderAsync): what the SDK's calls
 * use. Its HPKE context (a fresh ephemeral key, agreed with `enclaveKey`) was usually made ahead, after the last
 * seal; each context seals one envelope only.
 */
export async function sealEnvelopeAsync(enclaveKey: Uint8Array, body: EnvelopeBody & EnvelopeStamp, prf?: Uint8Array): Promise<string> {
  const plaintext = envelopePlaintext(enclaveKey, body, prf);
  try {
    return toBase64(wireOf(sealOnce(await contextFor(enclaveKey), plaintext)));
  } finally {
    plaintext.fill(0);
  }
}

/** sealPinEnvelope, with the platform's X25519 where it has one (sealEnvelopeAsync). */
export async function sealPinEnvelopeAsync(enclaveKey: Uint8Array, body: EnvelopeBody, now: () => number = Date.now): Promise<string> {
  return sealEnvelopeAsync(enclaveKey, { ...body, ...envelopeStamp(now) });
}

/** The envelope's plaintext: its JSON, and a PRF output written into it as bytes (the caller zeroes it). */
function envelopePlaintext(enclaveKey: Uint8Array, body: EnvelopeBody & EnvelopeStamp, prf?: Uint8Array): Uint8Array {
  if (enclaveKey.length !== 32) throw new TypeError('the enclave key is a 32-byte X25519 key');
  const json = new TextEncoder().encode(JSON.stringify({ v: 1, ...body }));
  if (!prf) return json;
  // `,"prf":"` ‖ base64url(prf) ‖ `"` before the closing brace.
  const head = new TextEncoder().encode(',"prf":"');
  const encoded = Math.ceil((prf.length * 8) / 6);
  const plaintext = new Uint8Array(json.length + head.length + encoded + 1);
  plaintext.set(json.subarray(0, json.length - 1));
  let at = json.length - 1;
  plaintext.set(head, at);
  at += head.length;
  for (let i = 0; i < prf.length; i += 3) {
    const n = (prf[i]! << 16) | ((prf[i + 1] ?? 0) << 8) | (prf[i + 2] ?? 0);
    for (let j = 0; j < Math.min(4, Math.ceil(((prf.length - i) * 8) / 6)); j++) plaintext[at++] = B64URL[(n >> (18 - 6 * j)) & 63]!;
  }
  plaintext[at++] = 0x22;
  plaintext[at] = 0x7d;
  json.fill(0);
  return plaintext;
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
