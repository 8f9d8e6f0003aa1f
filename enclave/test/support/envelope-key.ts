/**
 * An enclave envelope key from raw X25519 keys, for published test vectors
 * (RFC 9180 A.2.1) only. It lives with the tests, not in enclave/src, so the
 * image carries no way to load an envelope key from outside: the enclave only
 * ever generates its own (`EnvelopeKey.generate`).
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { EnvelopeKey } from '../../src/envelope/hpke.js';

// RFC 8410 DER wrappers of raw X25519 keys: PKCS #8 and SubjectPublicKeyInfo.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export function envelopeKeyFromRaw(privateKey: Uint8Array, publicKey: Uint8Array): EnvelopeKey {
  const der = Buffer.concat([PKCS8_PREFIX, privateKey]);
  try {
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    const raw = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
    if (Buffer.compare(raw, Buffer.from(publicKey)) !== 0) throw new Error('the public key does not match the private key');
    // The constructor is private to the module (the enclave makes its key only with generate()); a test reaches it through Reflect.
    return Reflect.construct(EnvelopeKey, [key, Uint8Array.from(publicKey)]) as EnvelopeKey;
  } finally {
    der.fill(0);
  }
}
