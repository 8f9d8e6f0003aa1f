/**
 * PIN envelopes (SPEC §6): HPKE-sealed JSON from the client to the enclave,
 * bound to a purpose, a user, a wallet, a digest, for signatures the network
 * and address of the signing account and the kind of payload, an expiry and a one-time nonce. Every check that fails names a stable code; nothing about the PIN
 * is revealed by which one.
 */
import { EnclaveWalletError, sameAddress } from '@enclave-wallet/proto';
import { PIN_ENVELOPE_INFO, type EnvelopeKey } from './hpke.js';
import { SecretBytes } from '../secret.js';
import { normaliseMnemonic } from '../keys/derive.js';
import { CLOCK_SKEW_S, ReplayCache } from './replay.js';
import { disposeTaken, invalid, pinFormat, takePins, type Taken } from './take-secrets.js';
import { parsePasskey, type EnvelopePasskey } from '../passkey/envelope-fields.js';
import type { UserId, WalletId } from '@enclave-wallet/proto/ids';

export { CLOCK_SKEW_S, ReplayCache } from './replay.js';
export { takePins } from './take-secrets.js';

export type Purpose =
  'create-wallet' | 'derive-account' | 'sign' | 'change-pin' | 'export' | 'import' | 'recovery-code' | 'reset-pin' | 'add-passkey' | 'remove-passkey';
const PURPOSES: readonly Purpose[] = [
  'create-wallet',
  'derive-account',
  'sign',
  'change-pin',
  'export',
  'import',
  'recovery-code',
  'reset-pin',
  'add-passkey',
  'remove-passkey',
];
/** What a sign envelope approves: the kind of payload, one per payload of the sign request. */
export type SignKind = 'evm-message' | 'evm-typed-data' | 'evm-transaction' | 'solana-message' | 'solana-transaction';
export const SIGN_KINDS: readonly SignKind[] = ['evm-message', 'evm-typed-data', 'evm-transaction', 'solana-message', 'solana-transaction'];

/** An envelope may expire at most this far ahead. */
export const MAX_ENVELOPE_LIFETIME_S = 300;
/** Largest envelope plaintext accepted (a 24-word mnemonic and a PIN fit easily). */
const MAX_PLAINTEXT_BYTES = 4096;

/**
 * A decrypted, checked envelope. `pin`, `newPin` (ASCII digits) and `mnemonic` are secrets, bytes the caller
 * disposes of: they never become JavaScript strings (see takePins), except a phrase with other characters than
 * ASCII letters and whitespace, which is decoded as a string and normalised (NFKD) first (docs/threat-model.md).
 */
export interface PinEnvelope {
  v: 1;
  purpose: Purpose;
  sub: string;
  walletId?: string;
  digest?: string;
  /** sign: the network of the signing account. */
  network?: string;
  /** sign: the address of the signing account. */
  address?: string;
  /** sign: the kind of payload approved (a Solana message and a Solana transaction share a digest form). */
  kind?: SignKind;
  /** sign, solana-transaction: the cluster the user approved sending it to (a Solana message names no chain). */
  cluster?: string;
  /** The PIN; empty when the envelope carries another factor (a recovery code, a passkey). */
  pin: SecretBytes;
  /** A passkey assertion (docs/passkeys.md): the factor, or at add-passkey the new credential. */
  passkey?: EnvelopePasskey;
  /** With `passkey`: its PRF output (32 bytes). */
  prf?: SecretBytes;
  newPin?: SecretBytes;
  /** reset-pin: the recovery code as typed (ASCII), parsed by the caller. */
  recoveryCode?: SecretBytes;
  /** import: the recovery phrase, normalised (lower case, one space between words). */
  mnemonic?: SecretBytes;
  exp: number;
  nonce: string;
}

/** Zeroes an envelope's PINs. */
export function disposeEnvelope(envelope: PinEnvelope): void {
  envelope.pin.dispose();
  envelope.newPin?.dispose();
  envelope.recoveryCode?.dispose();
  envelope.prf?.dispose();
  envelope.mnemonic?.dispose();
}

/**
 * What the envelope must be bound to for this request: `walletId` absent for
 * create-wallet and import; `digest` (0x-prefixed lowercase hex) for sign and
 * export; for sign, the network and address of the account the host will
 * sign with and the kind of payload the request carries.
 */
export type Binding = Pick<PinEnvelope, 'purpose' | 'digest' | 'network' | 'address' | 'kind' | 'cluster'> & {
  /** The request's user (the envelope's `sub` must be it). */
  sub: UserId;
  walletId?: WalletId;
};

/**
 * A binding that does not match. Nothing of the envelope is echoed: the host could otherwise replay any envelope
 * it carried to read what it was bound to (a user's digest, address, wallet). The host knows what it sent.
 */
const mismatch = (field: string): EnclaveWalletError => new EnclaveWalletError('ENVELOPE_MISMATCH', `the envelope is bound to another ${field}`);
/** Parses and type-checks a decrypted envelope plaintext (and overwrites its PINs: see takePins). */
export function parseEnvelope(plaintext: Uint8Array): PinEnvelope {
  if (plaintext.length > MAX_PLAINTEXT_BYTES) throw invalid('too large');
  const pins = takePins(plaintext);
  try {
    return parseRest(plaintext, pins);
  } catch (err) {
    disposeTaken(pins);
    throw err;
  }
}

/*
 * The envelope's JSON is read through a Map of its own fields, and every envelope is an object of one shape (every
 * field present, undefined where the envelope has none). The JSON's objects have a shape (a V8 map) per client and
 * purpose (their keys and order), and an envelope built with fields added and deleted by purpose had several: each
 * one V8 first met after it had optimised this path (an envelope of another purpose, another client's SDK) made it
 * compile the path again on the enclave's core (docs/performance.md, twenty-fourth look).
 */
function parseRest(plaintext: Uint8Array, pins: Taken): PinEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch {
    throw invalid('not UTF-8 JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('not a JSON object');
  const o: Fields = new Map(Object.entries(json));
  const str = (k: string, required: boolean): string | undefined => {
    const v = o.get(k);
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > 1024) throw invalid(`${k} must be a non-empty string`);
    return v;
  };
  if (o.get('v') !== 1) throw invalid('unknown version');
  const purpose = str('purpose', true) as Purpose;
  if (!PURPOSES.includes(purpose)) throw invalid('unknown purpose');
  const envelope: PinEnvelope = {
    v: 1,
    purpose,
    sub: str('sub', true)!,
    walletId: str('walletId', false),
    digest: str('digest', false),
    network: str('network', false),
    address: str('address', false),
    kind: str('kind', false) as SignKind | undefined,
    cluster: str('cluster', false),
    pin: pins.pin ?? SecretBytes.alloc(0),
    passkey: undefined,
    prf: undefined,
    newPin: pins.newPin,
    recoveryCode: pins.recoveryCode,
    mnemonic: undefined,
    exp: o.get('exp') as number,
    nonce: str('nonce', true)!,
  };
  if (envelope.kind !== undefined && !SIGN_KINDS.includes(envelope.kind)) throw invalid('unknown kind');
  if (envelope.cluster !== undefined && !/^[a-z0-9-]{1,32}$/.test(envelope.cluster)) throw invalid('cluster must be a cluster name');
  if (!Number.isSafeInteger(envelope.exp) || envelope.exp <= 0) throw invalid('exp must be Unix seconds');
  if (!/^[0-9a-f]{32}$/.test(envelope.nonce)) throw invalid('nonce must be 16 bytes of lowercase hex');
  if (envelope.digest !== undefined && !/^0x[0-9a-f]{64}$/.test(envelope.digest)) throw invalid('digest must be 0x and 32 bytes of lowercase hex');
  const typedPhrase = str('mnemonic', false); // taken out (then a placeholder), or a phrase that needs NFKD
  readFactor(o, purpose, pins, envelope);
  if (pins.mnemonic) envelope.mnemonic = pins.mnemonic;
  else if (typedPhrase !== undefined) envelope.mnemonic = SecretBytes.adopt(new TextEncoder().encode(normaliseMnemonic(typedPhrase)));
  return envelope;
}

/** The envelope JSON's own fields. */
type Fields = ReadonlyMap<string, unknown>;

/**
 * The factor an envelope carries, by purpose: most take the PIN or a passkey; a reset the recovery code or a
 * passkey; adding a passkey the PIN or the recovery code, and the new passkey (docs/passkeys.md). A PIN that
 * was not a plain digit string was not taken out: present in the JSON, it is the wrong format.
 */
function readFactor(o: Fields, purpose: Purpose, pins: Taken, envelope: PinEnvelope): void {
  if (o.get('passkey') !== undefined) {
    if (purpose === 'create-wallet' || purpose === 'import') throw invalid('a new wallet is sealed under a PIN, not a passkey');
    envelope.passkey = parsePasskey(o.get('passkey'), purpose === 'add-passkey');
    if (!pins.prf)
      throw new EnclaveWalletError('PASSKEY_PRF_UNSUPPORTED', 'the passkey gave no PRF output: this authenticator or browser cannot open a wallet');
    envelope.prf = pins.prf;
  } else if (o.get('prf') !== undefined) throw invalid('prf goes with passkey');
  else if (purpose === 'add-passkey') throw invalid('add-passkey carries the new passkey');
  const byPasskey = envelope.passkey !== undefined && purpose !== 'add-passkey';
  if (purpose === 'reset-pin' || (purpose === 'add-passkey' && o.get('recoveryCode') !== undefined)) {
    if (o.get('pin') !== undefined) throw invalid(`${purpose} carries the recovery code${purpose === 'reset-pin' ? ' or a passkey' : ''}, not the PIN`);
    if (byPasskey) {
      if (o.get('recoveryCode') !== undefined) throw invalid('a reset carries the recovery code or a passkey, not both');
    } else if (!pins.recoveryCode || typeof o.get('recoveryCode') !== 'string')
      throw new EnclaveWalletError('RECOVERY_CODE_INVALID', 'a reset needs the recovery code');
  } else if (byPasskey) {
    if (o.get('pin') !== undefined) throw invalid('an envelope carries the PIN or a passkey, not both');
    if (o.get('recoveryCode') !== undefined) throw invalid('recoveryCode goes with reset-pin and add-passkey only');
  } else {
    if (!pins.pin || typeof o.get('pin') !== 'string') throw pinFormat();
    if (o.get('recoveryCode') !== undefined) throw invalid('recoveryCode goes with reset-pin and add-passkey only');
  }
  if (o.get('newPin') !== undefined && (!pins.newPin || typeof o.get('newPin') !== 'string')) throw pinFormat();
}

/**
 * Checks everything of a parsed envelope but its digest and nonce: cheap, so
 * it runs before the enclave parses and hashes what it is asked to sign.
 */
export function precheckEnvelope(envelope: PinEnvelope, binding: Omit<Binding, 'digest'>, nowSeconds: number): void {
  if (envelope.purpose !== binding.purpose) throw mismatch('purpose');
  if (envelope.sub !== binding.sub) throw mismatch('user');
  if ((envelope.walletId ?? '') !== (binding.walletId ?? '')) throw mismatch('wallet');
  if (binding.purpose === 'sign') {
    if (envelope.network === undefined || envelope.address === undefined) throw invalid('a sign envelope names the network and address of the signing account');
    if (envelope.network !== binding.network) throw mismatch('network');
    if (!sameAddress(binding.network, envelope.address, binding.address ?? '')) throw mismatch('account');
    if (envelope.kind === undefined) throw invalid('a sign envelope names the kind of payload it approves');
    if (envelope.kind !== binding.kind) throw mismatch('kind of payload');
    // A Solana transaction carries no chain id: the cluster it goes to is what the envelope binds instead.
    if (envelope.cluster !== undefined && envelope.kind !== 'solana-transaction') throw invalid('cluster goes with a Solana transaction only');
    if ((envelope.cluster ?? '') !== (binding.cluster ?? '')) throw mismatch('cluster');
  } else if (envelope.network !== undefined || envelope.address !== undefined || envelope.kind !== undefined || envelope.cluster !== undefined)
    throw invalid('network, address, kind and cluster go with sign only');
  const needsNewPin = binding.purpose === 'change-pin' || binding.purpose === 'reset-pin';
  if (needsNewPin && envelope.newPin === undefined) throw invalid(`${binding.purpose} needs newPin`);
  if (!needsNewPin && envelope.newPin !== undefined) throw invalid('newPin only goes with change-pin and reset-pin');
  if (binding.purpose === 'import' ? envelope.mnemonic === undefined : envelope.mnemonic !== undefined) throw invalid('mnemonic goes with import only');
  if (envelope.exp < nowSeconds) throw new EnclaveWalletError('ENVELOPE_EXPIRED', 'the envelope has expired');
  if (envelope.exp > nowSeconds + MAX_ENVELOPE_LIFETIME_S + CLOCK_SKEW_S)
    throw new EnclaveWalletError('ENVELOPE_EXPIRED', `the envelope expires more than ${MAX_ENVELOPE_LIFETIME_S} s ahead`);
}

/**
 * Checks a parsed envelope against what the request is for, then claims its
 * nonce. Order: binding, expiry, replay, so a mismatched envelope does not
 * burn its nonce. Expiry is read on the replay cache's clock, which never goes
 * back (ReplayCache.monotonic).
 */
export function checkEnvelope(envelope: PinEnvelope, binding: Binding, replay: ReplayCache, nowSeconds: number): void {
  // The replay cache's clock, which never goes back: a nonce it has dropped as expired stays expired.
  const now = replay.monotonic(nowSeconds);
  precheckEnvelope(envelope, binding, now);
  if ((envelope.digest ?? '') !== (binding.digest ?? '')) throw mismatch('digest');
  if (!replay.claim(envelope.nonce, envelope.exp, now, envelope.sub)) throw new EnclaveWalletError('ENVELOPE_REPLAYED', 'the envelope was already used');
}

/** Decrypts and parses an envelope (no binding checked yet). */
export async function decryptPinEnvelope(key: EnvelopeKey, wire: Uint8Array): Promise<PinEnvelope> {
  let plaintext: SecretBytes;
  try {
    plaintext = await key.open(wire, PIN_ENVELOPE_INFO);
  } catch {
    throw invalid('it does not decrypt with this enclave’s key');
  }
  try {
    return parseEnvelope(plaintext);
  } finally {
    plaintext.dispose();
  }
}

/** Refuses a trivially guessable new PIN. @throws {EnclaveWalletError} PIN_TOO_WEAK */
export function refuseTrivialPin(pin: string | Uint8Array): void {
  if (isTrivialPin(pin)) throw new EnclaveWalletError('PIN_TOO_WEAK', 'choose a PIN that is not one digit repeated or a run');
}

/**
 * Whether a new PIN is trivially guessable: one digit repeated, or a run
 * going up or down by one at every step (123456, 987654, 890123 with wrap).
 */
export function isTrivialPin(pin: string | Uint8Array): boolean {
  // Digit values read in place (no array of the PIN's digits is made): ASCII codes or characters.
  const digit = (i: number): number => (typeof pin === 'string' ? pin.charCodeAt(i) : pin[i]!) - 0x30;
  const all = (ok: (i: number) => boolean): boolean => {
    for (let i = 1; i < pin.length; i++) if (!ok(i)) return false;
    return true;
  };
  if (all((i) => digit(i) === digit(0))) return true;
  return [1, 9].some((step) => all((i) => digit(i) === (digit(i - 1) + step) % 10));
}
