/** Builds PIN envelopes as a client would, with the independent test HPKE. */
import { randomBytes } from 'node:crypto';
import { hpkeSeal, wireOf } from './hpke-reference.js';

export const PIN_INFO = new TextEncoder().encode('enclave-wallet/pin-envelope/v1');
export const RECOVERY_INFO = new TextEncoder().encode('enclave-wallet/recovery-phrase/v1');

export interface EnvelopeBody {
  purpose: string;
  sub: string;
  walletId?: string;
  digest?: string;
  /** sign: the signing account's network and address. */
  network?: string;
  address?: string;
  pin: string;
  newPin?: string;
  mnemonic?: string;
  exp?: number;
  nonce?: string;
}

/** Seals an envelope body to the enclave's X25519 key (from a verified attestation document). */
export function sealEnvelope(enclaveKey: Uint8Array, body: EnvelopeBody): Uint8Array {
  const full = { v: 1, exp: Math.floor(Date.now() / 1000) + 120, nonce: randomBytes(16).toString('hex'), ...body };
  return wireOf(hpkeSeal(enclaveKey, PIN_INFO, new TextEncoder().encode(JSON.stringify(full))));
}
