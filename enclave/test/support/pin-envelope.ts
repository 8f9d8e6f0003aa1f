/**
 * Decrypt, parse and check a PIN envelope in one call, for tests only: the enclave runs these steps apart
 * (service-core.ts: decryptPinEnvelope, precheckEnvelope, then checkEnvelope once the digest is known), so the
 * image carries no one-call path that would skip the step between.
 */
import type { EnvelopeKey } from '../../src/envelope/hpke.js';
import { checkEnvelope, decryptPinEnvelope, type Binding, type PinEnvelope, type ReplayCache } from '../../src/envelope/pin-envelope.js';

/** Decrypts, parses and checks an envelope. */
export async function openPinEnvelope(key: EnvelopeKey, wire: Uint8Array, binding: Binding, replay: ReplayCache, nowSeconds: number): Promise<PinEnvelope> {
  const envelope = await decryptPinEnvelope(key, wire);
  checkEnvelope(envelope, binding, replay, nowSeconds);
  return envelope;
}
