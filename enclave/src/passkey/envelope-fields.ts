/**
 * The passkey fields of an envelope (docs/passkeys.md): `passkey` (the assertion, and at registration the new
 * credential's algorithm and key) and `prf` (the PRF output, taken out of the plaintext like a PIN, see
 * pin-envelope.ts takePins). Parsed and size-checked here; checked as WebAuthn in webauthn.ts.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { fromBase64Url, type PasskeyBinding } from '@enclave-wallet/proto/passkey';
import { SecretBytes } from '../secret.js';
import { MAX_CREDENTIAL_ID_BYTES } from './slot-params.js';
import { RSA_MAX_BITS, type Assertion } from './webauthn.js';

/** The largest assertion signature: RS256 with the largest RSA key webauthn.ts takes (4096 bits: 512 bytes). */
const MAX_SIGNATURE_BYTES = RSA_MAX_BITS / 8;

/** An envelope's passkey: its assertion, and at registration the credential's COSE algorithm and SPKI key. */
export interface EnvelopePasskey extends Assertion {
  algorithm?: number;
  publicKey?: Uint8Array;
}

/** Characters of a 32-byte PRF output in unpadded base64url. */
export const PRF_CHARS = 43;

const invalid = (why: string): EnclaveWalletError => new EnclaveWalletError('ENVELOPE_INVALID', `the envelope is not valid: ${why}`);

/** Whether `bytes` may be the value of `prf`: 43 base64url characters. */
export const isPrfText = (bytes: Uint8Array): boolean =>
  bytes.length === PRF_CHARS &&
  bytes.every((c) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f);

/** The 32 bytes of a PRF output from its base64url characters (the caller zeroes the characters). */
export function prfOf(text: Uint8Array): SecretBytes {
  const bytes = fromBase64Url(text);
  if (bytes.length !== 32) {
    bytes.fill(0);
    throw invalid('prf is 32 bytes');
  }
  return SecretBytes.adopt(bytes);
}

/** Parses the envelope's `passkey` object; `registration` also takes the credential's algorithm and key. */
export function parsePasskey(value: unknown, registration: boolean): EnvelopePasskey {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('passkey must be an object');
  const o = value as Record<string, unknown>;
  const bytes = (k: string, max: number): Uint8Array => {
    const v = o[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > Math.ceil((max * 4) / 3)) throw invalid(`passkey.${k} must be base64url of at most ${max} bytes`);
    try {
      return fromBase64Url(v);
    } catch {
      throw invalid(`passkey.${k} must be base64url`);
    }
  };
  const out: EnvelopePasskey = {
    credentialId: bytes('credentialId', MAX_CREDENTIAL_ID_BYTES),
    authenticatorData: bytes('authenticatorData', 1024),
    clientDataJSON: bytes('clientDataJSON', 1024),
    signature: bytes('signature', MAX_SIGNATURE_BYTES),
  };
  if (registration) {
    if (typeof o.algorithm !== 'number' || !Number.isSafeInteger(o.algorithm)) throw invalid('passkey.algorithm must be a COSE algorithm number');
    out.algorithm = o.algorithm;
    out.publicKey = bytes('publicKey', 1024);
  } else if (o.algorithm !== undefined || o.publicKey !== undefined) throw invalid('passkey.algorithm and passkey.publicKey go with add-passkey only');
  return out;
}

/** The binding a passkey's challenge covers, from the envelope's own fields (docs/passkeys.md#the-challenge). */
export function challengeBindingOf(e: {
  purpose: string;
  sub: string;
  walletId?: string | undefined;
  network?: string | undefined;
  address?: string | undefined;
  kind?: string | undefined;
  cluster?: string | undefined;
  digest?: string | undefined;
  exp: number;
  nonce: string;
}): PasskeyBinding {
  return {
    purpose: e.purpose,
    sub: e.sub,
    walletId: e.walletId,
    network: e.network,
    address: e.address,
    kind: e.kind,
    cluster: e.cluster,
    digest: e.digest,
    exp: e.exp,
    nonce: e.nonce,
  };
}
