/**
 * Builds PIN envelopes for tests, as an attacker or a careless client might
 * too: any purpose, any `exp` and `nonce` (the SDK's sealPinEnvelope always
 * sets fresh ones), with the test HPKE. Apps use sealPinEnvelope.
 */
import { randomBytes } from 'node:crypto';
import type { EnvelopeBody as ClientEnvelopeBody } from '@enclave-wallet/client';
import { PIN_ENVELOPE_INFO as PIN_INFO } from '@enclave-wallet/proto';
import { hpkeSeal, wireOf } from './hpke-reference.js';

export { PIN_ENVELOPE_INFO as PIN_INFO, RECOVERY_PHRASE_INFO as RECOVERY_INFO } from '@enclave-wallet/proto';

/** An envelope body as the SDK writes one, but with any purpose and network, and `exp` and `nonce` of the test's choosing. */
export type EnvelopeBody = Omit<ClientEnvelopeBody, 'purpose' | 'network' | 'kind' | 'passkey' | 'prf'> & {
  purpose: string;
  network?: string;
  kind?: string;
  exp?: number;
  nonce?: string;
  /** A passkey assertion (docs/passkeys.md; test/support/authenticator.ts makes them). */
  passkey?: object;
  prf?: string;
};

/** Seals an envelope body to the enclave's X25519 key (from a verified attestation document). */
export function sealEnvelope(enclaveKey: Uint8Array, body: EnvelopeBody): Uint8Array {
  const full = { v: 1, exp: Math.floor(Date.now() / 1000) + 120, nonce: randomBytes(16).toString('hex'), ...body };
  return wireOf(hpkeSeal(enclaveKey, PIN_INFO, new TextEncoder().encode(JSON.stringify(full))));
}
